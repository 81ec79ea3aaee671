//! Which quota applies to a client, in Kafka's order (`ClientQuotaManager`): the most
//! specific entity that sets the key wins.
//!
//! 1. `/users/<user>/clients/<client-id>`
//! 2. `/users/<user>/clients/<default>`
//! 3. `/users/<user>`
//! 4. `/users/<default>/clients/<client-id>`
//! 5. `/users/<default>/clients/<default>`
//! 6. `/users/<default>`
//! 7. `/clients/<client-id>`
//! 8. `/clients/<default>`
//!
//! The level also decides whose usage is counted against it (Kafka's metric tags): a
//! user-and-client level counts that user's use of that client id, a user level all the
//! user's clients together, a client level every user of the client id. Default entities
//! share their limit, never their usage: each user (or client id) has its own.

use super::entity::{QuotaEntity, CLIENT_ID, USER};
use super::image::ClientQuotaImage;

/// Whose usage a quota counts: Kafka's (user, client-id) metric tags, empty for "all".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SensorKey {
    pub user: String,
    pub client_id: String,
}

/// A level of the order: the user and client-id components it names (`Some(None)`:
/// the default entity; `None`: absent), and whether usage is counted per user, client.
struct Level {
    user: Option<Named>,
    client: Option<Named>,
    count_user: bool,
    count_client: bool,
}

#[derive(Clone, Copy)]
enum Named {
    Own,
    Default,
}

const fn level(user: Option<Named>, client: Option<Named>, count_user: bool, count_client: bool) -> Level {
    Level { user, client, count_user, count_client }
}

const ORDER: [Level; 8] = [
    level(Some(Named::Own), Some(Named::Own), true, true),
    level(Some(Named::Own), Some(Named::Default), true, true),
    level(Some(Named::Own), None, true, false),
    level(Some(Named::Default), Some(Named::Own), true, true),
    level(Some(Named::Default), Some(Named::Default), true, true),
    level(Some(Named::Default), None, true, false),
    level(None, Some(Named::Own), false, true),
    level(None, Some(Named::Default), false, true),
];

impl ClientQuotaImage {
    /// The limit on `key` for `user` (the principal's name) using `client_id`, and whose
    /// usage it counts; `None` when no level sets it. A client without a client id is
    /// held to user quotas only, as in Kafka.
    pub fn resolve(&self, user: &str, client_id: &str, key: &str) -> Option<(SensorKey, f64)> {
        if self.is_empty() {
            return None;
        }
        ORDER.iter().find_map(|level| {
            if client_id.is_empty() && level.client.is_some() {
                return None;
            }
            let name =
                |named: Option<Named>, own: &str| named.map(|n| matches!(n, Named::Own).then(|| own.to_string()));
            let mut entity = QuotaEntity::default();
            if let Some(u) = name(level.user, user) {
                entity.0.insert(USER.into(), u);
            }
            if let Some(c) = name(level.client, client_id) {
                entity.0.insert(CLIENT_ID.into(), c);
            }
            let limit = *self.quotas_of(&entity)?.get(key)?;
            let sensor = SensorKey {
                user: if level.count_user { user.into() } else { String::new() },
                client_id: if level.count_client { client_id.into() } else { String::new() },
            };
            Some((sensor, limit))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::entity::QuotaValue;
    use super::super::image::QuotaChange;
    use super::*;

    const KEY: &str = "producer_byte_rate";

    fn entity(user: Option<Option<&str>>, client: Option<Option<&str>>) -> QuotaEntity {
        let mut e = QuotaEntity::default();
        if let Some(u) = user {
            e.0.insert(USER.into(), u.map(Into::into));
        }
        if let Some(c) = client {
            e.0.insert(CLIENT_ID.into(), c.map(Into::into));
        }
        e
    }

    #[test]
    fn the_most_specific_entity_wins_in_kafkas_order() {
        // Every level, each with its own limit (its rank), for user u and client c.
        let levels = [
            entity(Some(Some("u")), Some(Some("c"))),
            entity(Some(Some("u")), Some(None)),
            entity(Some(Some("u")), None),
            entity(Some(None), Some(Some("c"))),
            entity(Some(None), Some(None)),
            entity(Some(None), None),
            entity(None, Some(Some("c"))),
            entity(None, Some(None)),
        ];
        let mut image = ClientQuotaImage::default();
        for (rank, e) in levels.iter().enumerate() {
            image.apply(&QuotaChange {
                entity: e.clone(),
                key: KEY.into(),
                value: Some(QuotaValue(rank as f64 + 1.0)),
            });
        }
        let counted = |user: &str, client: &str| SensorKey { user: user.into(), client_id: client.into() };
        let expected_sensors = [
            counted("u", "c"),
            counted("u", "c"),
            counted("u", ""),
            counted("u", "c"),
            counted("u", "c"),
            counted("u", ""),
            counted("", "c"),
            counted("", "c"),
        ];
        for (rank, e) in levels.iter().enumerate() {
            assert_eq!(image.resolve("u", "c", KEY), Some((expected_sensors[rank].clone(), rank as f64 + 1.0)), "{e}");
            image.apply(&QuotaChange { entity: e.clone(), key: KEY.into(), value: None });
        }
        assert_eq!(image.resolve("u", "c", KEY), None);
    }

    #[test]
    fn defaults_apply_to_others_and_keys_resolve_independently() {
        let mut image = ClientQuotaImage::default();
        let set = |image: &mut ClientQuotaImage, e: QuotaEntity, key: &str, v: f64| {
            image.apply(&QuotaChange { entity: e, key: key.into(), value: Some(QuotaValue(v)) })
        };
        set(&mut image, entity(None, Some(None)), KEY, 10.0);
        set(&mut image, entity(Some(Some("alice")), None), "consumer_byte_rate", 20.0);
        let (sensor, limit) = image.resolve("bob", "other", KEY).unwrap();
        assert_eq!((sensor.client_id.as_str(), limit), ("other", 10.0), "each client id counts on its own");
        assert_eq!(image.resolve("bob", "", KEY), None, "no client id: client quotas do not apply");
        assert_eq!(image.resolve("bob", "x", "consumer_byte_rate"), None);
        assert_eq!(image.resolve("alice", "x", "consumer_byte_rate").map(|r| r.1), Some(20.0));
    }
}
