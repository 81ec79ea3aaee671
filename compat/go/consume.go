package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// consume reads partitions directly (no group) from an offset or from the first
// record at or after a timestamp, until it has `count` records or has been idle for
// `idle`. This is kgo's seek / replay: ConsumePartitions with an exact Offset.
func consume(args []string) error {
	fs := flag.NewFlagSet("consume", flag.ExitOnError)
	brokers := fs.String("brokers", "", "bootstrap address")
	topic := fs.String("topic", "", "topic")
	partitions := fs.Int("partitions", 1, "partitions 0..n-1 to read")
	offset := fs.Int64("offset", 0, "start offset in every partition")
	afterMilli := fs.Int64("after-milli", -1, "start at the first record at or after this timestamp (ms)")
	count := fs.Int("count", -1, "stop after this many records")
	idle := fs.Duration("idle", 2*time.Second, "stop after this long without a record")
	committed := fs.Bool("read-committed", false, "isolation.level=read_committed")
	fs.Parse(args)

	start := kgo.NewOffset().At(*offset)
	if *afterMilli >= 0 {
		start = kgo.NewOffset().AfterMilli(*afterMilli)
	}
	assignment := map[int32]kgo.Offset{}
	for p := 0; p < *partitions; p++ {
		assignment[int32(p)] = start
	}
	opts := append(baseOpts(*brokers), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{*topic: assignment}))
	if *committed {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	out := []Record{}
	for *count < 0 || len(out) < *count {
		ctx, cancel := context.WithTimeout(context.Background(), *idle)
		fetches := cl.PollFetches(ctx)
		cancel()
		if ctx.Err() != nil && fetches.NumRecords() == 0 {
			break
		}
		for _, fe := range fetches.Errors() {
			if !errors.Is(fe.Err, context.DeadlineExceeded) {
				return fmt.Errorf("fetch %s[%d]: %w", fe.Topic, fe.Partition, fe.Err)
			}
		}
		fetches.EachRecord(func(r *kgo.Record) { out = append(out, recordOf(r)) })
	}
	emit(out)
	return nil
}
