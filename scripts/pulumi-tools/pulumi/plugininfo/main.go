// Command plugininfo starts a Pulumi provider or language host plugin and prints the version it
// reports over GetPluginInfo, the way the engine asks it (written for agent-sandbox's setup-pulumi.sh).
//
//	plugininfo PATH-TO-pulumi-resource-NAME
//	plugininfo PATH-TO-pulumi-language-NAME
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
)

func main() {
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "plugininfo:", err)
		os.Exit(1)
	}
}

func run(plugin string) error {
	cmd := exec.Command(plugin)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	port := make(chan string, 1)
	go func() { // a plugin's first line on stdout is the port it serves on
		line, _ := bufio.NewReader(out).ReadString('\n')
		port <- strings.TrimSpace(line)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var p string
	select {
	case p = <-port:
	case <-ctx.Done():
		return fmt.Errorf("%s printed no port", plugin)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+p, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	var info *pulumirpc.PluginInfo
	if strings.HasPrefix(filepath.Base(plugin), "pulumi-language-") {
		info, err = pulumirpc.NewLanguageRuntimeClient(conn).GetPluginInfo(ctx, &emptypb.Empty{})
	} else {
		info, err = pulumirpc.NewResourceProviderClient(conn).GetPluginInfo(ctx, &emptypb.Empty{})
	}
	if err != nil {
		return err
	}
	fmt.Println(info.GetVersion())
	return nil
}
