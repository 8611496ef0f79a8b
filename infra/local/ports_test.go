package main

import (
	"net"
	"strings"
	"testing"
)

// A taken port is refused with a message that names the flag choosing
// another; a free one is accepted.
func TestCheckPortsRefusesATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	err = checkPorts([]portUse{{"DynamoDB Local", taken, "dynamodb-port"}})
	if err == nil || !strings.Contains(err.Error(), "-dynamodb-port") || !strings.Contains(err.Error(), "is taken") {
		t.Fatalf("taken port: %v, want a refusal naming -dynamodb-port", err)
	}
	free, _ := net.Listen("tcp", "127.0.0.1:0")
	port := free.Addr().(*net.TCPAddr).Port
	free.Close()
	if err := checkPorts([]portUse{{"HTTP API", port, "port"}}); err != nil {
		t.Fatalf("free port refused: %v", err)
	}
}
