package benchclient

import (
	"fmt"
	"net"
)

// reservedPortRanges are ports the project's integration tests listen on
// (moved by PROXYAUTH_TEST_PORT_OFFSET); a benchmark running next to them
// must stay clear.
var reservedPortRanges = [][2]int{{2999, 3600}, {9080, 9600}}

func portReserved(p int) bool {
	for _, r := range reservedPortRanges {
		if r[0] <= p && p <= r[1] {
			return true
		}
	}
	return false
}

// FreePorts returns n distinct TCP ports that were free on 127.0.0.1 a
// moment ago, chosen by the kernel, none in reservedPortRanges. The caller
// must bind them soon and check that it could: another process may take a
// port in between.
func FreePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	var ports []int
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 10*n+100 {
			return nil, fmt.Errorf("found only %d free ports of %d", len(ports), n)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are chosen, so none is handed out twice.
		listeners = append(listeners, l)
		p := l.Addr().(*net.TCPAddr).Port
		if !portReserved(p) {
			ports = append(ports, p)
		}
	}
	return ports, nil
}
