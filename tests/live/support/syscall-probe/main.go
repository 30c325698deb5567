// Command syscall-probe calls, once each, system calls that a Linux host offers and gVisor's kernel
// refuses or narrows, and prints one JSON line per call: {"call": name, "errno": "" on success, else
// the errno's name}. The live test (tests/live/gvisor-kernel.test.ts) runs it under runc and under
// runsc with the sandbox's hardening and compares. Static (CGO_ENABLED=0), so any image can run it.
//
// unshare(CLONE_NEWUSER) needs a single-threaded caller and a Go program never is one (the kernel
// answers EINVAL), so the user namespace is asked for with clone(CLONE_NEWUSER) of a child, which the
// same seccomp rule and the same kernel check govern; the test also runs util-linux's `unshare --user`.
package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"unsafe"
)

// amd64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl).
const (
	sysKeyctl       = 250
	sysBpf          = 321
	sysIoUringSetup = 425
)

const (
	bpfMapCreate          = 0
	bpfMapTypeArray       = 2
	keyctlGetKeyringID    = 0
	keySpecSessionKeyring = -3
)

type result struct {
	Call  string `json:"call"`
	Errno string `json:"errno"`
	Value int64  `json:"value,omitempty"`
}

func errnoName(err error) string {
	var errno syscall.Errno
	if err == nil {
		return ""
	}
	if errors.As(err, &errno) {
		if name, ok := errnoNames[errno]; ok {
			return name
		}
		return "errno " + errno.Error()
	}
	return err.Error()
}

var errnoNames = map[syscall.Errno]string{
	syscall.EPERM: "EPERM", syscall.ENOSYS: "ENOSYS", syscall.EINVAL: "EINVAL", syscall.EACCES: "EACCES",
	syscall.ENOMEM: "ENOMEM", syscall.EFAULT: "EFAULT", syscall.ENOSPC: "ENOSPC", syscall.EOPNOTSUPP: "EOPNOTSUPP",
	syscall.EUSERS: "EUSERS", syscall.EAGAIN: "EAGAIN",
}

func raw(call string, trap uintptr, a1, a2, a3 uintptr) result {
	r, _, e := syscall.RawSyscall(trap, a1, a2, a3)
	if e != 0 {
		return result{Call: call, Errno: errnoName(e)}
	}
	return result{Call: call, Value: int64(r)}
}

// bpf(BPF_MAP_CREATE) of a one-entry array map: the least an eBPF user asks for.
func probeBpf() result {
	var attr [128]byte
	words := (*[4]uint32)(unsafe.Pointer(&attr[0]))
	words[0], words[1], words[2], words[3] = bpfMapTypeArray, 4, 4, 1 // type, key size, value size, entries
	res := raw("bpf", sysBpf, bpfMapCreate, uintptr(unsafe.Pointer(&attr[0])), uintptr(len(attr)))
	if res.Errno == "" {
		syscall.Close(int(res.Value))
	}
	return res
}

// io_uring_setup(1, params): a ring of one entry.
func probeIoUring() result {
	var params [120]byte
	res := raw("io_uring_setup", sysIoUringSetup, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	if res.Errno == "" {
		syscall.Close(int(res.Value))
	}
	return res
}

// keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create): the kernel keyring, which is not
// namespaced per container.
func probeKeyctl() result {
	session := int64(keySpecSessionKeyring)
	return raw("keyctl", sysKeyctl, keyctlGetKeyringID, uintptr(session), 1)
}

// clone(CLONE_NEWUSER) of a child that exits at once.
func probeUserns() result {
	self, err := os.Executable()
	if err != nil {
		return result{Call: "clone_newuser", Errno: err.Error()}
	}
	cmd := exec.Command(self, "-child")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
	return result{Call: "clone_newuser", Errno: errnoName(cmd.Run())}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-child" {
		return
	}
	out := json.NewEncoder(os.Stdout)
	for _, probe := range []func() result{probeBpf, probeIoUring, probeKeyctl, probeUserns} {
		_ = out.Encode(probe())
	}
}
