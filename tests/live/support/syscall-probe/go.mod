// The syscall probe of tests/live/gvisor-kernel.test.ts: built on the host (standard library only, so no
// module download), bound into a container and run there.
module agent-sandbox.local/syscall-probe

go 1.22
