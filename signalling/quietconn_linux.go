package signalling

import (
	"io"
	"net"
	"os"
	"syscall"
	"unsafe"
)

// quietConn is a TCP connection whose reads and writes reach the kernel as
// raw system calls. Its socket is non-blocking (the runtime's netpoller
// waits for it), so no call can block. A plain net.Conn call tells the
// scheduler it enters a system call, and each such entry after an idle
// moment wakes the runtime's monitor thread, which sleeps 20 µs and parks
// again: at 2000 messages a second that is a futex wake, a nanosleep and a
// futex wait per message, over 40 % of the receiver's CPU
// (docs/benchmarks.md, signalling).
type quietConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

// quiet returns conn as a quietConn when it is a TCP connection, else conn.
func quiet(conn net.Conn) net.Conn {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return conn
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return conn
	}
	return &quietConn{TCPConn: tc, raw: raw}
}

func (c *quietConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var errno syscall.Errno
	err := c.raw.Read(func(fd uintptr) bool {
		n, errno = rawIO(syscall.SYS_READ, fd, p)
		return errno != syscall.EAGAIN
	})
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting for room in the socket's buffer as often
// as it takes, as net.Conn's Write does.
func (c *quietConn) Write(p []byte) (int, error) {
	done := 0
	var errno syscall.Errno
	err := c.raw.Write(func(fd uintptr) bool {
		for done < len(p) {
			n, e := rawIO(syscall.SYS_WRITE, fd, p[done:])
			switch e {
			case 0:
				done += n
			case syscall.EAGAIN:
				return false
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		return done, c.opError("write", err)
	case errno != 0:
		return done, c.opError("write", os.NewSyscallError("write", errno))
	}
	return done, nil
}

// opError words an error as net.Conn's Read and Write do; the poller's
// errors (a deadline, a closed connection) come wrapped as "raw-read" or
// "raw-write" and keep their cause.
func (c *quietConn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// rawIO is one read or write of p, retried when a signal interrupts it.
func rawIO(trap, fd uintptr, p []byte) (int, syscall.Errno) {
	for {
		r, _, e := syscall.RawSyscall(trap, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
		if e != syscall.EINTR {
			if e != 0 {
				return 0, e
			}
			return int(r), 0
		}
	}
}
