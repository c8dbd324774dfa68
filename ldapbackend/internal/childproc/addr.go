package childproc

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return addr, nil
}

// CheckAddrFree fails clearly when something already listens on addr, wrapping errInUse;
// a server's own message only reaches its log.
func CheckAddrFree(addr string, errInUse error) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("cannot listen on %s (port %s): %w", addr, PortOf(addr), errInUse)
		}
		return fmt.Errorf("cannot listen on %s: %w", addr, err)
	}
	return l.Close()
}

// PortOf returns the port of a host:port address, or "".
func PortOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}
