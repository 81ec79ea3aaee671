// Command franz runs the franz-go (kgo, kadm) programs of the compatibility suite
// against a broker: compat/test_franz_go.py starts it as a subprocess, one sub-command
// per scenario, and checks the JSON it prints on stdout. Errors the client reports are
// part of that JSON where a test asserts on them; anything else exits non-zero.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var commands = map[string]func(args []string) error{
	"produce": produce,
	"consume": consume,
	"member":  member,
	"txn":     txnZombie,
	"admin":   admin,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: franz produce|consume|member|txn|admin -brokers HOST:PORT ...")
		os.Exit(2)
	}
	if err := commands[os.Args[1]](os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "franz:", err)
		os.Exit(1)
	}
}

// Record is how every sub-command prints a record: the same shape as the KafkaJS
// and aiokafka programs, so the tests compare them alike.
type Record struct {
	Partition int32   `json:"partition"`
	Offset    int64   `json:"offset"`
	Key       *string `json:"key"`
	Value     string  `json:"value"`
	Timestamp int64   `json:"timestamp"`
}

func recordOf(r *kgo.Record) Record {
	out := Record{Partition: r.Partition, Offset: r.Offset, Value: string(r.Value), Timestamp: r.Timestamp.UnixMilli()}
	if r.Key != nil {
		k := string(r.Key)
		out.Key = &k
	}
	return out
}

// emit writes one JSON document as one line; stdout is the test's only input.
func emit(v any) {
	line, err := json.Marshal(v)
	if err != nil { // only our own plain values are marshalled: a bug here, not input
		fmt.Fprintln(os.Stderr, "franz: cannot encode output:", err)
		os.Exit(1)
	}
	os.Stdout.Write(append(line, '\n'))
}

// baseOpts keeps every client quick to give up: a broken broker must fail the test,
// not hang it.
// FRANZ_DEBUG=1 sends kgo's debug log (every request and response) to stderr.
func baseOpts(brokers string) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(brokers),
		kgo.RetryTimeout(15 * time.Second),
		kgo.RequestTimeoutOverhead(10 * time.Second),
	}
	if os.Getenv("FRANZ_DEBUG") != "" {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	return opts
}
