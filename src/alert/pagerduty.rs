//! The `pagerduty` channel.

use super::{Delivery, DeliveryError, Notification, Receipt};
use crate::config::ChannelConfig;

/// Deliver `n` through a `pagerduty` channel.
pub async fn send(
    _delivery: &Delivery,
    _channel: &ChannelConfig,
    _n: &Notification,
) -> Result<Receipt, DeliveryError> {
    Err(DeliveryError::permanent(
        "the pagerduty channel is not built yet",
    ))
}
