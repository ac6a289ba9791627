package benchclient

import (
	"net"
	"strconv"
	"testing"
)

func TestFreePorts(t *testing.T) {
	ports, err := FreePorts(20)
	if err != nil {
		t.Fatal(err)
	}
	seen := make(map[int]bool)
	for _, p := range ports {
		if seen[p] || portReserved(p) || p <= 0 || p > 65535 {
			t.Fatalf("FreePorts gave %v: duplicate, reserved or out of range %d", ports, p)
		}
		seen[p] = true
	}
	// They are free: this process can listen on them.
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(ports[0]))
	if err != nil {
		t.Fatalf("port %d not free: %v", ports[0], err)
	}
	l.Close()
}

func TestPortReserved(t *testing.T) {
	for p, want := range map[int]bool{2998: false, 2999: true, 3600: true, 3601: false, 9080: true, 9600: true, 9601: false, 40000: false} {
		if portReserved(p) != want {
			t.Errorf("portReserved(%d) = %v, want %v", p, !want, want)
		}
	}
}
