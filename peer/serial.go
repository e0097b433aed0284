package peer

import "sync"

// serial runs functions one at a time, in the order given, on a goroutine
// that exists only while work is queued. It reproduces the single operations
// chain a browser keeps per connection, and the single event loop JS code
// relies on for ordering.
type serial struct {
	mu      sync.Mutex
	queue   []func()
	running bool
	stopped bool
	idle    chan struct{}
}

// do queues fn; it reports false (and drops fn) after stop.
func (s *serial) do(fn func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.queue = append(s.queue, fn)
	if !s.running {
		s.running = true
		go s.run()
	}
	return true
}

func (s *serial) run() {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 {
			s.running = false
			if s.idle != nil {
				close(s.idle)
				s.idle = nil
			}
			s.mu.Unlock()
			return
		}
		fn := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		s.mu.Unlock()
		fn()
	}
}

// stop refuses further work; queued work still runs. wait blocks until the
// queue is empty.
func (s *serial) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
}

func (s *serial) wait() {
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return
	}
	if s.idle == nil {
		s.idle = make(chan struct{})
	}
	idle := s.idle
	s.mu.Unlock()
	<-idle
}
