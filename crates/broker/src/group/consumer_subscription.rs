//! What a consumer-protocol member (KIP-848) subscribes to: topic names, a regular
//! expression, or both, resolved against the topics that exist now.
//!
//! Kafka compiles subscription regexes with RE2/J and matches whole topic names; the
//! `regex` crate implements the same RE2 syntax, so a pattern is checked as given and
//! then anchored at both ends. Resolution is pure: callers pass the topic catalogue, so a
//! topic created or deleted changes the resolution at the next heartbeat.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::BrokerError;

/// A validated subscription regex.
#[derive(Debug, Clone)]
pub struct TopicRegex {
    source: String,
    whole_name: regex::Regex,
}

impl TopicRegex {
    /// Compiles `source`; INVALID_REGULAR_EXPRESSION for what RE2 refuses.
    pub fn parse(source: &str) -> Result<Self, BrokerError> {
        // Validate the pattern as the client wrote it: anchoring first could make an
        // unbalanced one such as `a)(b` well-formed.
        regex::Regex::new(source).map_err(|e| BrokerError::InvalidRegularExpression(format!("'{source}': {e}")))?;
        let whole_name = regex::Regex::new(&format!("^(?:{source})$"))
            .map_err(|e| BrokerError::InvalidRegularExpression(format!("'{source}': {e}")))?;
        Ok(TopicRegex { source: source.to_string(), whole_name })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// True when the whole topic name matches, as Java's `Matcher.matches()`.
    pub fn matches(&self, topic: &str) -> bool {
        self.whole_name.is_match(topic)
    }
}

/// One member's subscription.
#[derive(Debug, Clone, Default)]
pub struct Subscription {
    /// Sorted and deduplicated.
    pub names: Vec<String>,
    pub regex: Option<TopicRegex>,
}

impl Subscription {
    /// Replaces the topic names; true when they changed.
    pub fn set_names(&mut self, mut names: Vec<String>) -> bool {
        names.sort();
        names.dedup();
        let changed = names != self.names;
        self.names = names;
        changed
    }

    /// Replaces the regex (`None` clears it); true when it changed.
    pub fn set_regex(&mut self, regex: Option<TopicRegex>) -> bool {
        let changed = self.regex.as_ref().map(TopicRegex::as_str) != regex.as_ref().map(TopicRegex::as_str);
        self.regex = regex;
        changed
    }

    /// The existing topics this subscription covers, sorted: named topics that exist
    /// plus every existing topic the regex matches.
    pub fn resolve(&self, topics: &BTreeMap<String, i32>) -> Vec<String> {
        let mut resolved: BTreeSet<&String> = self.names.iter().filter(|t| topics.contains_key(*t)).collect();
        if let Some(regex) = &self.regex {
            resolved.extend(topics.keys().filter(|t| regex.matches(t)));
        }
        resolved.into_iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalogue(names: &[&str]) -> BTreeMap<String, i32> {
        names.iter().map(|n| (n.to_string(), 1)).collect()
    }

    #[test]
    fn a_regex_matches_whole_topic_names_only() {
        let r = TopicRegex::parse("orders\\..*").unwrap();
        assert!(r.matches("orders.eu"));
        assert!(!r.matches("old-orders.eu"), "Kafka matches the whole name, not a substring");
        let prefix = TopicRegex::parse("^pre.*").unwrap();
        assert!(prefix.matches("prefix") && !prefix.matches("xpre"));
        let alternation = TopicRegex::parse("a|b").unwrap();
        assert!(alternation.matches("a") && alternation.matches("b") && !alternation.matches("ab"));
    }

    #[test]
    fn invalid_patterns_are_refused_as_written() {
        for bad in ["(", "a)(b", "[z-a]", "*x"] {
            assert!(matches!(TopicRegex::parse(bad), Err(BrokerError::InvalidRegularExpression(_))), "{bad}");
        }
    }

    #[test]
    fn resolution_follows_the_catalogue() {
        let mut s = Subscription::default();
        assert!(s.set_names(vec!["named".into(), "named".into(), "absent".into()]));
        assert!(!s.set_names(vec!["absent".into(), "named".into()]));
        assert!(s.set_regex(Some(TopicRegex::parse("rx-.*").unwrap())));
        assert!(!s.set_regex(Some(TopicRegex::parse("rx-.*").unwrap())));
        assert_eq!(s.resolve(&catalogue(&["named", "other", "rx-1"])), vec!["named", "rx-1"]);
        assert_eq!(s.resolve(&catalogue(&["named", "rx-1", "rx-2"])), vec!["named", "rx-1", "rx-2"]);
        assert!(s.set_regex(None));
        assert_eq!(s.resolve(&catalogue(&["rx-1"])), Vec::<String>::new());
    }
}
