package segment

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// command returns an exec.Cmd for name (from PATH) that ends with its caller:
//   - it runs in a process group of its own, which is killed (SIGKILL) when ctx ends, so that
//     whatever it started ends too;
//   - it gets SIGKILL from the kernel when the process that started it dies (Linux's
//     PR_SET_PDEATHSIG), so that a worker killed with SIGKILL leaves no ffmpeg or meshpipe
//     running.
//
// Go starts children from threads that live as long as the process (no goroutine of the farm
// locks an OS thread and exits), so the parent-death signal comes only when the process dies.
func command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone // it had ended: Wait reports how, not the kill
		}
		return err
	}
	// After a kill, pipes that a grandchild still holds must not keep Wait waiting.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}
