//! Server-side assignors of the consumer protocol (KIP-848): `uniform` spreads every
//! subscribed partition evenly over the members; `range` gives each member a contiguous
//! range per topic. Both are deterministic for a given membership.

use std::collections::{BTreeMap, BTreeSet};

/// A partition by topic name and index.
pub type TopicPartition = (String, i32);

/// `subscriptions`: member → subscribed topics; `partitions`: topic → partition count.
pub fn assign(
    assignor: &str,
    subscriptions: &BTreeMap<String, Vec<String>>,
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, BTreeSet<TopicPartition>> {
    let mut out: BTreeMap<String, BTreeSet<TopicPartition>> =
        subscriptions.keys().map(|m| (m.clone(), BTreeSet::new())).collect();
    if assignor == "range" {
        for (topic, count) in partitions {
            let members: Vec<&String> =
                subscriptions.iter().filter(|(_, t)| t.contains(topic)).map(|(m, _)| m).collect();
            if members.is_empty() {
                continue;
            }
            let (per, extra) = (*count as usize / members.len(), *count as usize % members.len());
            let mut next = 0;
            for (i, m) in members.iter().enumerate() {
                let take = per + usize::from(i < extra);
                for p in next..next + take {
                    out.entry((*m).clone()).or_default().insert((topic.clone(), p as i32));
                }
                next += take;
            }
        }
        return out;
    }
    // uniform: round-robin over all partitions, each to the least-loaded subscriber.
    for (topic, count) in partitions {
        for p in 0..*count {
            let target = subscriptions
                .iter()
                .filter(|(_, t)| t.contains(topic))
                .min_by_key(|(m, _)| (out.get(*m).map_or(0, |s| s.len()), (*m).clone()))
                .map(|(m, _)| m.clone());
            if let Some(m) = target {
                out.entry(m).or_default().insert((topic.clone(), p));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs(members: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        members.iter().map(|(m, ts)| (m.to_string(), ts.iter().map(|t| t.to_string()).collect())).collect()
    }

    #[test]
    fn uniform_balances_and_range_is_contiguous() {
        let s = subs(&[("a", &["t", "u"]), ("b", &["t", "u"]), ("c", &["t"])]);
        let parts: BTreeMap<String, i32> = [("t".to_string(), 6), ("u".to_string(), 2)].into();
        let uniform = assign("uniform", &s, &parts);
        let sizes: Vec<usize> = uniform.values().map(|v| v.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 8);
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        assert!(uniform["c"].iter().all(|(t, _)| t == "t"), "c only gets its subscription");
        let range = assign("range", &s, &parts);
        assert_eq!(range["a"].iter().filter(|(t, _)| t == "t").map(|(_, p)| *p).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(range["c"].iter().map(|(_, p)| *p).collect::<Vec<_>>(), vec![4, 5]);
    }
}
