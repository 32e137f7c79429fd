//! The `github` channel.

use super::{Delivery, DeliveryError, Notification, Receipt};
use crate::config::ChannelConfig;

/// Deliver `n` through a `github` channel.
pub async fn send(
    _delivery: &Delivery,
    _channel: &ChannelConfig,
    _n: &Notification,
) -> Result<Receipt, DeliveryError> {
    Err(DeliveryError::permanent("the github channel is not built yet"))
}
