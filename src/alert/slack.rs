//! The `slack` channel.

use super::{Delivery, DeliveryError, Notification, Receipt};
use crate::config::ChannelConfig;

/// Deliver `n` through a `slack` channel.
pub async fn send(
    _delivery: &Delivery,
    _channel: &ChannelConfig,
    _n: &Notification,
) -> Result<Receipt, DeliveryError> {
    Err(DeliveryError::permanent(
        "the slack channel is not built yet",
    ))
}
