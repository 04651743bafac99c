//! The threads password work runs on: a few of their own, at the lowest
//! scheduling priority (nice 19 on Linux), so that when a flood of sign-in
//! attempts keeps them busy, the scheduler still runs every other request
//! first and authenticated traffic keeps its latency. Attempts beyond what
//! they can take are refused before they get here (see `passwords.rs`).

use std::sync::{mpsc, Arc, Mutex};

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct HashWorkers {
    jobs: mpsc::Sender<Job>,
    count: usize,
}

impl HashWorkers {
    /// Starts `count` threads.
    pub fn start(count: usize) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..count {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            // Every sender is gone: the server is shutting down.
                            Err(_) => return,
                        }
                    }
                })
                .expect("a password worker thread starts");
        }
        Self { jobs, count }
    }

    /// How many threads there are.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Runs `job` on a worker; `None` if the workers are gone.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = tx.send(job());
            }))
            .ok()?;
        rx.await.ok()
    }
}

/// Lowers this thread's priority as far as it goes (no privilege needed).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, 19) != 0 {
            tracing::debug!("could not lower the password workers' priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_workers_at_the_lowest_priority() {
        let workers = HashWorkers::start(1);
        let (name, nice) = workers
            .run(|| {
                let name = std::thread::current().name().map(str::to_owned);
                #[cfg(target_os = "linux")]
                // SAFETY: reads this thread's own priority.
                let nice = unsafe {
                    libc::getpriority(
                        libc::PRIO_PROCESS,
                        libc::syscall(libc::SYS_gettid) as libc::id_t,
                    )
                };
                #[cfg(not(target_os = "linux"))]
                let nice = 19;
                (name, nice)
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("password-0"));
        assert_eq!(nice, 19);
    }
}
