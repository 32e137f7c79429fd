//! The `ntfy` channel.

use super::{Delivery, DeliveryError, Notification, Receipt};
use crate::config::ChannelConfig;

/// Deliver `n` through a `ntfy` channel.
pub async fn send(
    _delivery: &Delivery,
    _channel: &ChannelConfig,
    _n: &Notification,
) -> Result<Receipt, DeliveryError> {
    Err(DeliveryError::permanent(
        "the ntfy channel is not built yet",
    ))
}
