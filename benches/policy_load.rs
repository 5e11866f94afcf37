//! Benchmarks of loading policies and entities: the slope over the input size.
//!
//! `loadPolicies` of 1k/10k/100k policies and `setEntities` of a parent chain 300/1000/2000
//! deep (its transitive closure has n²/2 links; 3000 is over the hierarchy bound and is
//! refused, measured too) and of a wide hierarchy of 10k/100k agents in groups. The 100k-policy
//! case takes seconds per iteration: run one group with e.g.
//! `cargo bench --bench policy_load -- policies`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode};
use lean_agentic_native::reasoning::PolicyEngine;
use serde_json::{json, Value};
use std::hint::black_box;
use std::time::Duration;

/// `n` policies over 50 actions, each with its own principal and two conditions.
fn policies(n: usize) -> String {
    let mut text = String::new();
    for i in 0..n {
        text.push_str(&format!(
            "@id(\"p{i}\") permit(principal == Agent::\"a{i}\", action == Action::\"act{}\", \
             resource) when {{ context.amount < {i} && context.tool == \"t{i}\" }};\n",
            i % 50
        ));
    }
    text
}

/// A chain of `n` roles, each the parent of the one before.
fn chain(n: usize) -> String {
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let parents = if i + 1 < n {
                json!([{"type": "Role", "id": format!("r{}", i + 1)}])
            } else {
                json!([])
            };
            json!({"uid": {"type": "Role", "id": format!("r{i}")}, "attrs": {}, "parents": parents})
        })
        .collect();
    Value::Array(items).to_string()
}

/// `n` agents, each in 2 of 100 groups, the groups in one organisation.
fn wide(n: usize) -> String {
    let mut items = vec![json!({"uid": {"type": "Org", "id": "org"}, "attrs": {}, "parents": []})];
    for g in 0..100 {
        items.push(
            json!({"uid": {"type": "Group", "id": format!("g{g}")}, "attrs": {},
            "parents": [{"type": "Org", "id": "org"}]}),
        );
    }
    for i in 0..n {
        items.push(
            json!({"uid": {"type": "Agent", "id": format!("a{i}")}, "attrs": {"level": i % 5},
            "parents": [{"type": "Group", "id": format!("g{}", i % 100)},
                        {"type": "Group", "id": format!("g{}", (i * 7) % 100)}]}),
        );
    }
    Value::Array(items).to_string()
}

fn load_policies(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy_load/policies");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in [1_000usize, 10_000, 100_000] {
        let text = policies(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            b.iter(|| {
                let engine = PolicyEngine::new();
                black_box(engine.load(text, None).is_ok());
                engine
            })
        });
    }
    group.finish();
}

fn set_entities(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy_load/entity_chain");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for n in [300usize, 1_000, 2_000, 3_000] {
        let text = chain(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            let engine = PolicyEngine::new();
            b.iter(|| black_box(engine.set_entities(text).is_ok()))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("policy_load/entity_wide");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    for n in [10_000usize, 100_000] {
        let text = wide(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &text, |b, text| {
            let engine = PolicyEngine::new();
            b.iter(|| black_box(engine.set_entities(text).is_ok()))
        });
    }
    group.finish();
}

criterion_group!(benches, load_policies, set_entities);
criterion_main!(benches);
