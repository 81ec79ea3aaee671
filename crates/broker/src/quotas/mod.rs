//! Client quotas, as Kafka keeps and enforces them (KIP-13, KIP-124, KIP-219, KIP-546).
//!
//! The quotas themselves are metadata: AlterClientQuotas commits one
//! [`MetadataEvent::ClientQuotasAltered`](crate::metadata::MetadataEvent) per request, and
//! the image ([`ClientQuotaImage`]) is what the committed events add up to, replayed at
//! start like every other change. Enforcement is not metadata: [`QuotaUsage`] holds each
//! client's recent usage as Kafka's sampled rate and answers how long a client must be
//! throttled. This module measures and decides; the front-end applies the throttle (the
//! Kafka listener mutes the connection) and must never block inside these calls.

mod admin;
mod entity;
mod image;
mod keys;
mod rate;
mod resolve;
mod usage;

pub use admin::QuotaAlteration;
pub use entity::{EntityFilter, QuotaEntity, QuotaValue, CLIENT_ID, IP, USER};
pub use image::{ClientQuotaImage, QuotaChange};
pub use keys::{
    CONNECTION_CREATION_RATE, CONSUMER_BYTE_RATE, CONTROLLER_MUTATION_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE,
};
pub use rate::{RateConfig, SampledRate};
pub use resolve::SensorKey;
pub use usage::{QuotaKind, QuotaUsage};
