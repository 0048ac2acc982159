package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/meshpipe/meshpipe/farm"
)

// connection holds the flags every command takes to reach the Temporal service.
type connection struct {
	address, namespace, taskQueue string
}

// define adds -address, -namespace and -task-queue to fs.
func (c *connection) define(fs *flag.FlagSet) {
	c.address = os.Getenv("TEMPORAL_ADDRESS")
	if c.address == "" {
		c.address = "127.0.0.1:7233"
	}
	fs.StringVar(&c.address, "address", c.address, "Temporal service `HOST:PORT` (default $TEMPORAL_ADDRESS, else 127.0.0.1:7233)")
	fs.StringVar(&c.namespace, "namespace", "default", "Temporal `namespace`")
	fs.StringVar(&c.taskQueue, "task-queue", farm.DefaultTaskQueue, "task `queue` the workers poll")
}

// dial connects to the service; the SDK's own log lines at warning level and above go to
// stderr.
func (c *connection) dial(stderr io.Writer) (client.Client, error) {
	sdkLog := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cl, err := client.Dial(client.Options{HostPort: c.address, Namespace: c.namespace,
		Logger: tlog.NewStructuredLogger(sdkLog)})
	if err != nil {
		return nil, fmt.Errorf("connecting to the Temporal service at %s (namespace %s): %w", c.address, c.namespace, err)
	}
	return cl, nil
}

// newFlags returns a flag set for a command whose errors and help go to stderr.
func newFlags(name, head string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("meshfarm "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, head)
		fs.PrintDefaults()
	}
	return fs
}
