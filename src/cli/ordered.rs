//! Work on a list of items with several threads, handing the results on in the order of the
//! list, with bounded work in flight: the package and the log come out the same whatever the
//! number of threads, and memory stays flat however long the list is.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex};

/// How much may be in flight at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Threads.
    pub jobs: usize,
    /// Total weight of the items started and not yet handed to the sink. An item heavier
    /// than this still goes through, alone.
    pub budget: u64,
}

/// Run `work` on every item with `limits.jobs` threads, each with its own state made by
/// `state`, and give each result to `sink` in the order of `items`. Items start in order;
/// one starts only when fewer than `jobs` items are in flight (started and not yet handed
/// to `sink`) and the weights of those and of the one `sink` is working on, with its own,
/// stay within the budget. When `sink` fails, the other threads stop after the item they
/// are on and the error is returned. Returns the threads' states.
pub fn for_each_ordered<T, S, R>(
    items: &[T],
    limits: Limits,
    weight: impl Fn(&T) -> u64 + Sync,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), String>,
) -> Result<Vec<S>, String>
where
    T: Sync,
    S: Send,
    R: Send,
{
    let jobs = limits.jobs.clamp(1, items.len().max(1));
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let flight = Mutex::new(Flight::default());
    let moved = Condvar::new();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, R)>();
        let threads: Vec<_> = (0..jobs)
            .map(|_| {
                let tx = tx.clone();
                let (next, stop, flight, moved) = (&next, &stop, &flight, &moved);
                let (state, work, weight) = (&state, &work, &weight);
                scope.spawn(move || {
                    let mut s = state();
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= items.len() {
                            break;
                        }
                        let w = weight(&items[i]);
                        {
                            let mut f = flight.lock().unwrap_or_else(|e| e.into_inner());
                            // Items start in order, so when the one the sink waits for
                            // has not started, nothing is in flight and it can start.
                            while !stop.load(Ordering::SeqCst)
                                && (i != f.started
                                    || i >= f.taken + jobs
                                    || (f.weight > 0 && f.weight + w > limits.budget))
                            {
                                f = moved.wait(f).unwrap_or_else(|e| e.into_inner());
                            }
                            f.weight += w;
                            f.started += 1;
                        }
                        moved.notify_all();
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let r = work(&mut s, &items[i]);
                        if tx.send((i, r)).is_err() {
                            break;
                        }
                    }
                    s
                })
            })
            .collect();
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut expected = 0;
        let mut result = Ok(());
        for (i, r) in rx.iter() {
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&expected) {
                expected += 1;
                // Taken now, so that a thread can start the next item while the sink works
                // on this one; its weight counts until the sink is done with it.
                flight.lock().unwrap_or_else(|e| e.into_inner()).taken = expected;
                moved.notify_all();
                if let Err(e) = sink(r) {
                    result = Err(e);
                    break;
                }
                let mut f = flight.lock().unwrap_or_else(|e| e.into_inner());
                f.weight -= weight(&items[expected - 1]);
                drop(f);
                moved.notify_all();
            }
            if result.is_err() {
                break;
            }
        }
        if result.is_err() {
            stop.store(true, Ordering::SeqCst);
            moved.notify_all();
        }
        drop(rx);
        let states = threads
            .into_iter()
            .map(|t| t.join().map_err(|_| "a worker thread failed".to_string()))
            .collect::<Result<Vec<S>, String>>()?;
        result.map(|()| states)
    })
}

/// What is started and not yet handed on.
#[derive(Default)]
struct Flight {
    /// How many results the sink has taken: the next one it waits for.
    taken: usize,
    /// Total weight of the items started and not yet done with (by the sink).
    weight: u64,
    /// How many items have started.
    started: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANY: Limits = Limits {
        jobs: 4,
        budget: u64::MAX,
    };

    #[test]
    fn results_come_in_order_whatever_the_threads() {
        let items: Vec<u64> = (0..200).collect();
        for jobs in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            let limits = Limits {
                jobs,
                budget: u64::MAX,
            };
            let states = for_each_ordered(
                &items,
                limits,
                |_| 1,
                || 0usize,
                |count, &i| {
                    *count += 1;
                    // Uneven work, so that threads finish out of order.
                    std::thread::sleep(std::time::Duration::from_micros((i * 7919) % 300));
                    i * i
                },
                |r| {
                    seen.push(r);
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, items.iter().map(|i| i * i).collect::<Vec<_>>());
            assert_eq!(states.len(), jobs);
            assert_eq!(states.iter().sum::<usize>(), items.len());
        }
    }

    #[test]
    fn the_weight_in_flight_stays_within_the_budget() {
        // Weights 1..=9; budget 10: a 9 runs alone or with a 1, never with another 9.
        let items: Vec<u64> = (0..300).map(|i| 1 + (i * 37) % 9).collect();
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let limits = Limits {
            jobs: 4,
            budget: 10,
        };
        let mut seen = Vec::new();
        for_each_ordered(
            &items,
            limits,
            |&w| w,
            || (),
            |_, &w| {
                let now = in_flight.fetch_add(w as usize, Ordering::SeqCst) + w as usize;
                peak.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(std::time::Duration::from_micros(200));
                w
            },
            // An item's weight counts until the sink is done with it (it holds the item).
            |w| {
                std::thread::sleep(std::time::Duration::from_micros(100));
                in_flight.fetch_sub(w as usize, Ordering::SeqCst);
                seen.push(w);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items);
        assert!(peak.load(Ordering::SeqCst) <= 10, "{peak:?}");
    }

    #[test]
    fn the_next_item_is_worked_on_while_the_sink_works() {
        // One thread: while the sink holds item i, item i + 1 is started.
        let items: Vec<usize> = (0..20).collect();
        let started = AtomicUsize::new(0);
        let mut overlapped = 0;
        for_each_ordered(
            &items,
            Limits {
                jobs: 1,
                budget: u64::MAX,
            },
            |_| 1,
            || (),
            |_, &i| {
                started.fetch_max(i + 1, Ordering::SeqCst);
                i
            },
            |i| {
                std::thread::sleep(std::time::Duration::from_millis(2));
                if i + 1 < items.len() && started.load(Ordering::SeqCst) > i + 1 {
                    overlapped += 1;
                }
                Ok(())
            },
        )
        .unwrap();
        assert!(overlapped >= 15, "{overlapped} of 19");
    }

    #[test]
    fn an_item_heavier_than_the_budget_still_goes_through_alone() {
        let items = [5u64, 50, 5];
        let limits = Limits {
            jobs: 2,
            budget: 10,
        };
        let mut seen = Vec::new();
        for_each_ordered(
            &items,
            limits,
            |&w| w,
            || (),
            |_, &w| w,
            |w| {
                seen.push(w);
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, items);
    }

    #[test]
    fn a_failing_sink_stops_the_threads_and_returns_its_error() {
        let items: Vec<u32> = (0..10_000).collect();
        let done = AtomicUsize::new(0);
        let mut taken = 0;
        let r = for_each_ordered(
            &items,
            MANY,
            |_| 1,
            || (),
            |_, &i| {
                done.fetch_add(1, Ordering::SeqCst);
                i
            },
            |i| {
                taken += 1;
                if i == 5 {
                    Err("disk full".into())
                } else {
                    Ok(())
                }
            },
        );
        assert_eq!(r.err().as_deref(), Some("disk full"));
        assert_eq!(taken, 6);
        // At most `jobs` items run ahead of the one the sink waits for.
        assert!(done.load(Ordering::SeqCst) <= 6 + 2 * MANY.jobs);
    }

    #[test]
    fn no_items_no_work() {
        let r = for_each_ordered(&[] as &[u8], MANY, |_| 1, || (), |_, _| (), |_| Ok(()));
        assert_eq!(r.unwrap().len(), 1);
    }
}
