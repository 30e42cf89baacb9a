//! The runtime bound of one run (docs/LIMITS.md): a total event budget and a bound on
//! events at one simulated instant, which catches a component that reschedules itself
//! with no delay.

use poolsim::cluster::world::{EventBudget, MAX_EVENTS_PER_INSTANT};
use poolsim::engine::SimTime;

#[test]
fn time_that_stops_advancing_is_a_hot_loop() {
    let mut budget = EventBudget::new(0);
    let instant = SimTime(5_000);
    for _ in 0..MAX_EVENTS_PER_INSTANT {
        budget.admit(instant).expect("within the per-instant bound");
    }
    let error = budget
        .admit(instant)
        .expect_err("one more at the same instant");
    assert!(error.contains("at this one instant"), "{error}");
    assert!(error.contains("MAX_EVENTS_PER_INSTANT"), "{error}");
}

#[test]
fn the_per_instant_count_starts_again_when_time_advances() {
    let mut budget = EventBudget::new(0);
    for _ in 0..MAX_EVENTS_PER_INSTANT {
        budget.admit(SimTime(1)).expect("within the bound");
    }
    budget
        .admit(SimTime(2))
        .expect("a new instant starts a new count");
    budget
        .admit(SimTime(2))
        .expect("and keeps counting from one");
}

#[test]
fn the_total_budget_stops_a_run_and_names_the_setting() {
    let mut budget = EventBudget::new(3);
    for t in 0..3 {
        budget.admit(SimTime(t)).expect("within the total");
    }
    let error = budget.admit(SimTime(3)).expect_err("the fourth event");
    assert!(error.contains("maxEventsProcessed"), "{error}");
    assert!(error.contains("after processing 3 events"), "{error}");
}
