package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

var codecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

// produce is kgo's README producer: keyed records, one codec, acks=all with
// idempotence (kgo's default), ProduceSync. Prints the delivered records.
func produce(args []string) error {
	fs := flag.NewFlagSet("produce", flag.ExitOnError)
	brokers := fs.String("brokers", "", "bootstrap address")
	topic := fs.String("topic", "", "topic")
	codec := fs.String("codec", "none", "none|gzip|snappy|lz4|zstd")
	count := fs.Int("count", 100, "records to produce")
	keys := fs.Int("keys", 7, "distinct keys")
	baseMillis := fs.Int64("timestamp", 0, "first record's timestamp (ms); each next one is 1s later; 0: now")
	fs.Parse(args)
	compression, ok := codecs[*codec]
	if !ok {
		return fmt.Errorf("unknown codec %q", *codec)
	}
	opts := append(baseOpts(*brokers), kgo.DefaultProduceTopic(*topic), kgo.ProducerBatchCompression(compression),
		kgo.ProducerLinger(5*time.Millisecond))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	records := make([]*kgo.Record, *count)
	for i := range records {
		r := &kgo.Record{Key: fmt.Appendf(nil, "user-%d", i%*keys), Value: fmt.Appendf(nil, "value-%04d", i)}
		if *baseMillis != 0 {
			r.Timestamp = time.UnixMilli(*baseMillis + int64(i)*1000)
		}
		records[i] = r
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	results := cl.ProduceSync(ctx, records...)
	if err := results.FirstErr(); err != nil {
		return err
	}
	delivered := make([]Record, len(results))
	for i, r := range results {
		delivered[i] = recordOf(r.Record)
	}
	emit(delivered)
	return nil
}
