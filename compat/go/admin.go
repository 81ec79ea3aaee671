package main

import (
	"context"
	"flag"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// admin walks a topic through kadm: create (and create again), describe, describe
// and incrementally alter its configs, delete (and delete again). It prints what
// each step returned.
func admin(args []string) error {
	fs := flag.NewFlagSet("admin", flag.ExitOnError)
	brokers := fs.String("brokers", "", "bootstrap address")
	topic := fs.String("topic", "", "topic")
	fs.Parse(args)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(baseOpts(*brokers)...)
	if err != nil {
		return err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}

	created, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": kadm.StringPtr("120000")}, *topic)
	out["create_error"], out["created_partitions"] = errText(err), created.NumPartitions
	_, err = adm.CreateTopic(ctx, 3, 1, nil, *topic)
	out["create_again_error"] = errText(err)

	details, err := adm.ListTopics(ctx, *topic)
	out["list_error"] = errText(err)
	if d, ok := details[*topic]; ok {
		out["described_partitions"] = len(d.Partitions)
	}
	out["configs_before"], out["describe_configs_error"] = topicConfigs(ctx, adm, *topic)

	alter := []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("60000")},
		{Op: kadm.SetConfig, Name: "cleanup.policy", Value: kadm.StringPtr("compact")},
	}
	altered, err := adm.AlterTopicConfigs(ctx, alter, *topic)
	if err == nil {
		for _, r := range altered {
			if r.Err != nil {
				err = r.Err
			}
		}
	}
	out["alter_error"] = errText(err)
	out["configs_after"], _ = topicConfigs(ctx, adm, *topic)

	_, err = adm.DeleteTopic(ctx, *topic)
	out["delete_error"] = errText(err)
	all, err := adm.ListTopics(ctx)
	out["listed_after_delete"] = err == nil && all.Has(*topic)
	_, err = adm.DeleteTopic(ctx, *topic)
	out["delete_again_error"] = errText(err)
	emit(out)
	return nil
}

// topicConfigs returns the topic's configs as name -> {value, source}.
func topicConfigs(ctx context.Context, adm *kadm.Client, topic string) (map[string]map[string]any, *string) {
	described, err := adm.DescribeTopicConfigs(ctx, topic)
	if err == nil {
		var rc kadm.ResourceConfig
		if rc, err = described.On(topic, nil); err == nil && rc.Err != nil {
			err = rc.Err
		}
		if err == nil {
			configs := map[string]map[string]any{}
			for _, c := range rc.Configs {
				configs[c.Key] = map[string]any{"value": c.MaybeValue(), "source": c.Source.String()}
			}
			return configs, nil
		}
	}
	return nil, errText(err)
}
