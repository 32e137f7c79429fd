//! Stopping gracefully: the first Ctrl-C or SIGTERM asks the work in flight to
//! finish and be stored; a second one ends the process at once.

use tokio::sync::watch;

/// Whether a stop was asked for; cheap to clone and to ask.
#[derive(Debug, Clone)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

/// The signals that stop Outpost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT (Ctrl-C)",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The shell convention for a process ended by this signal: 128 + its number.
    fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl Shutdown {
    /// Install the handlers (inside the runtime) and watch for the signals.
    /// Without handlers (the platform refused them) the process keeps the
    /// default behaviour: a signal ends it at once.
    pub fn listen() -> Shutdown {
        let (tx, rx) = watch::channel(false);
        match Signals::install() {
            Ok(mut signals) => {
                tokio::spawn(async move {
                    let first = signals.next().await;
                    tracing::warn!(
                        "{} received: finishing the probes in flight and storing them, then stopping (send it again to stop at once)",
                        first.name()
                    );
                    let _ = tx.send(true);
                    let second = signals.next().await;
                    tracing::warn!("{} received again: stopping now", second.name());
                    std::process::exit(second.exit_code());
                });
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot handle SIGINT/SIGTERM; a signal stops outpost at once");
            }
        }
        Shutdown { requested: rx }
    }

    /// Has a stop been asked for?
    pub fn is_requested(&self) -> bool {
        *self.requested.borrow()
    }

    /// Wait until a stop is asked for.
    pub async fn requested(&self) {
        let mut rx = self.requested.clone();
        if rx.wait_for(|stop| *stop).await.is_err() {
            // The listener is gone without a stop: none will come.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Signals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals)
    }

    async fn next(&mut self) -> Signal {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        Signal::Interrupt
    }
}
