// Package stack runs service binaries as child processes: each in its own
// process group with a prefixed output, started in order and awaited on its
// readiness URL, all stopped with SIGTERM (then SIGKILL past the timeout)
// when the runner stops or any one of them dies.
package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Service is one process of the stack.
type Service struct {
	Name   string
	Binary string
	Args   []string
	Env    map[string]string // on top of the runner's environment
	Ready  string            // URL answering 2xx once the service serves
	// Pre are the arguments of a one-shot run of the same binary that must
	// succeed before the service starts (e.g. database migrations).
	Pre []string
}

// Stack is the running set.
type Stack struct {
	log      *slog.Logger
	services []Service
	stopWait time.Duration

	mu    sync.Mutex
	procs []*proc
	died  chan string
}

type proc struct {
	svc  Service
	cmd  *exec.Cmd
	done chan struct{}
}

// New prepares a stack; nothing runs until Start.
func New(log *slog.Logger, services []Service, stopWait time.Duration) *Stack {
	return &Stack{log: log, services: services, stopWait: stopWait, died: make(chan string, len(services))}
}

// Start launches the services in order, each awaited on its Ready URL.
func (s *Stack) Start(ctx context.Context, timeout time.Duration) error {
	for _, svc := range s.services {
		if _, err := os.Stat(svc.Binary); err != nil {
			return fmt.Errorf("%s: binary %s missing (run `make build`): %w", svc.Name, svc.Binary, err)
		}
		if len(svc.Pre) > 0 {
			if err := s.runPre(ctx, svc); err != nil {
				return err
			}
		}
		p, err := s.launch(svc)
		if err != nil {
			return err
		}
		if err := waitReady(ctx, p, timeout); err != nil {
			return fmt.Errorf("%s did not become ready: %w", svc.Name, err)
		}
		s.log.Info("up", "service", svc.Name)
	}
	return nil
}

// runPre runs the service's one-shot step, its output prefixed like the
// service's own.
func (s *Stack) runPre(ctx context.Context, svc Service) error {
	cmd := exec.CommandContext(ctx, svc.Binary, svc.Pre...)
	cmd.Env = environ(svc)
	out, err := cmd.CombinedOutput()
	prefix(svc.Name, strings.NewReader(string(out)))
	if err != nil {
		return fmt.Errorf("%s %s: %w", svc.Name, strings.Join(svc.Pre, " "), err)
	}
	return nil
}

// environ is the runner's environment plus the service's own, sorted so
// the child sees a stable order (later entries win on duplicates).
func environ(svc Service) []string {
	env := os.Environ()
	keys := make([]string, 0, len(svc.Env))
	for k := range svc.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+svc.Env[k])
	}
	return env
}

func (s *Stack) launch(svc Service) (*proc, error) {
	cmd := exec.Command(svc.Binary, svc.Args...)
	cmd.Env = environ(svc)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", svc.Name, err)
	}
	p := &proc{svc: svc, cmd: cmd, done: make(chan struct{})}
	go prefix(svc.Name, stdout)
	go func() {
		err := cmd.Wait()
		close(p.done)
		s.log.Info("exited", "service", svc.Name, "status", exitStatus(err))
		s.died <- svc.Name
	}()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	return p, nil
}

func prefix(name string, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fmt.Printf("%-11s| %s\n", name, sc.Text())
	}
}

func exitStatus(err error) string {
	if err == nil {
		return "0"
	}
	return err.Error()
}

func waitReady(ctx context.Context, p *proc, timeout time.Duration) error {
	if p.svc.Ready == "" {
		return nil
	}
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get(p.svc.Ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
		}
		select {
		case <-p.done:
			return errors.New("process exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not answering after %s", p.svc.Ready, timeout)
		}
	}
}

// Wait blocks until ctx ends (nil) or a service dies (an error naming it).
func (s *Stack) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case name := <-s.died:
		return fmt.Errorf("%s exited; stopping the stack", name)
	}
}

// Stop stops the processes one at a time in reverse start order — the edge
// first, so no request reaches a stopped service — each with SIGTERM and,
// when the shared stop timeout runs out, SIGKILL.
func (s *Stack) Stop() {
	s.mu.Lock()
	procs := append([]*proc(nil), s.procs...)
	s.mu.Unlock()
	deadline := time.After(s.stopWait)
	expired := false
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		if !expired {
			select {
			case <-p.done:
				continue
			case <-deadline:
				expired = true
			}
		}
		s.log.Warn("killing after stop timeout", "service", p.svc.Name)
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// Output runs a one-shot command of a service's binary with its
// environment and returns standard output.
func Output(ctx context.Context, svc Service, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, svc.Binary, args...)
	cmd.Env = environ(svc)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", svc.Name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}
