package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// member is kgo's manual-commit group consumer from its examples: autocommit off,
// rebalances blocked while a poll is processed, and a blocking commit of everything
// polled in OnPartitionsRevoked, so the next owner of a partition starts where this
// one stopped. It prints one JSON event a line (assigned, record, revoked, lost) and
// leaves the group cleanly when stdin closes.
func member(args []string) error {
	fs := flag.NewFlagSet("member", flag.ExitOnError)
	brokers := fs.String("brokers", "", "bootstrap address")
	group := fs.String("group", "", "group id")
	topic := fs.String("topic", "", "topic")
	fs.Parse(args)

	opts := append(baseOpts(*brokers),
		kgo.ConsumerGroup(*group),
		kgo.ConsumeTopics(*topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(6*time.Second),
		kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
			emit(map[string]any{"event": "assigned", "partitions": orEmpty(assigned[*topic])})
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
			err := cl.CommitUncommittedOffsets(ctx)
			emit(map[string]any{"event": "revoked", "partitions": orEmpty(revoked[*topic]), "commit_error": errText(err)})
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) {
			emit(map[string]any{"event": "lost", "partitions": orEmpty(lost[*topic])})
		}),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	ctx, stop := context.WithCancel(context.Background())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	for {
		fetches := cl.PollFetches(ctx)
		// Every polled record counts as consumed (it is what CommitUncommittedOffsets
		// commits), so each is reported even when the poll ended by cancellation.
		fetches.EachRecord(func(r *kgo.Record) {
			emit(map[string]any{"event": "record", "record": recordOf(r)})
		})
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.Canceled) {
				emit(map[string]any{"event": "error", "error": fe.Err.Error()})
			}
		}
		cl.AllowRebalance()
		if ctx.Err() != nil {
			break
		}
	}
	// Close leaves the group, running OnPartitionsRevoked (and so the last commit) first.
	cl.Close()
	emit(map[string]any{"event": "closed"})
	return nil
}

func orEmpty(partitions []int32) []int32 {
	if partitions == nil {
		return []int32{}
	}
	return partitions
}

func errText(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
