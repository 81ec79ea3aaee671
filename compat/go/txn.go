package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// txnZombie runs kgo's transactional producer twice with one transactional id: the
// second instance fences the first (the "zombie"), whose later produce and commit
// must fail. The successor commits one transaction and aborts another, so a
// read_committed reader afterwards must see exactly the successor's committed record.
func txnZombie(args []string) error {
	fs := flag.NewFlagSet("txn", flag.ExitOnError)
	brokers := fs.String("brokers", "", "bootstrap address")
	topic := fs.String("topic", "", "topic")
	txnID := fs.String("transactional-id", "", "transactional id")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func() (*kgo.Client, error) {
		return kgo.NewClient(append(baseOpts(*brokers), kgo.TransactionalID(*txnID), kgo.DefaultProduceTopic(*topic),
			kgo.TransactionTimeout(30*time.Second))...)
	}
	inTxn := func(cl *kgo.Client, value string, commit kgo.TransactionEndTry) error {
		if err := cl.BeginTransaction(); err != nil {
			return err
		}
		if err := cl.ProduceSync(ctx, kgo.StringRecord(value)).FirstErr(); err != nil {
			return err
		}
		return cl.EndTransaction(ctx, commit)
	}

	zombie, err := open()
	if err != nil {
		return err
	}
	defer zombie.Close()
	if err := zombie.BeginTransaction(); err != nil {
		return err
	}
	if err := zombie.ProduceSync(ctx, kgo.StringRecord("from-zombie")).FirstErr(); err != nil {
		return fmt.Errorf("zombie's first produce: %w", err)
	}

	successor, err := open()
	if err != nil {
		return err
	}
	defer successor.Close()
	// Under transaction version 2 (KIP-890 part 2) every EndTxn gives the producer the
	// next epoch: the successor's epochs before, between and after its two transactions.
	var epochs []int16
	noteEpoch := func() error {
		_, epoch, err := successor.ProducerID(ctx)
		epochs = append(epochs, epoch)
		return err
	}
	if err := noteEpoch(); err != nil {
		return err
	}
	if err := inTxn(successor, "from-successor", kgo.TryCommit); err != nil {
		return fmt.Errorf("successor's commit: %w", err)
	}
	if err := noteEpoch(); err != nil {
		return err
	}
	if err := inTxn(successor, "successor-aborted", kgo.TryAbort); err != nil {
		return fmt.Errorf("successor's abort: %w", err)
	}
	if err := noteEpoch(); err != nil {
		return err
	}

	lateErr := zombie.ProduceSync(ctx, kgo.StringRecord("late-from-zombie")).FirstErr()
	// kgo refuses to commit after a failed produce; its documented next step is TryAbort
	// (local only: the producer ID is reloaded by the next produce). That reload, an
	// InitProducerId with the zombie's old epoch, is where the coordinator fences it.
	commitErr := zombie.EndTransaction(ctx, kgo.TryCommit)
	abortErr := zombie.EndTransaction(ctx, kgo.TryAbort)
	retryErr := abortErr
	if retryErr == nil {
		if retryErr = zombie.BeginTransaction(); retryErr == nil {
			retryErr = zombie.ProduceSync(ctx, kgo.StringRecord("zombie-retry")).FirstErr()
		}
	}
	emit(map[string]any{"zombie_produce_error": errText(lateErr), "zombie_commit_error": errText(commitErr),
		"zombie_retry_error": errText(retryErr), "successor_epochs": epochs})
	return nil
}
