package main

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

// portUse is a port make dev needs, and the flag that chooses another.
type portUse struct {
	what string
	port int
	flag string
}

// checkPorts refuses to start when a port is taken: whatever answers there
// (another make dev, another DynamoDB) would otherwise be used in silence,
// and invitations would then fail where nobody looks.
func checkPorts(uses []portUse) error {
	for _, u := range uses {
		if err := portFree(u.port); err != nil {
			return fmt.Errorf("port %d (%s) is taken: %v; stop what runs there, or choose another port with "+
				"`go run ./infra/local dev -%s <port>`", u.port, u.what, err, u.flag)
		}
	}
	return nil
}

// portFree reports why port cannot be ours: something answers on it, or it
// cannot be listened on.
func portFree(port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if c, err := net.DialTimeout("tcp", addr, 300*time.Millisecond); err == nil {
		c.Close()
		return fmt.Errorf("something already answers on %s", addr)
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return l.Close()
}
