//! Benchmarks of the rule engine: a 5-step derivation proved (and checked) on a warm model,
//! plus the standalone checker and a cold model rebuild for reference.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lean_agentic_native::reasoning::rules::{check_proof, Atom, ProveOptions, RuleEngine};

/// Five layers of rules over a few hundred facts; `s5(u7)` needs a 5-step derivation with
/// negation at two layers.
fn engine() -> RuleEngine {
    let engine = RuleEngine::new();
    engine
        .add_rules(
            "s1(X) :- user(X), active(X).\n\
             s2(X) :- s1(X), member(X, finance), not suspended(X).\n\
             s3(X) :- s2(X), trained(X).\n\
             s4(X) :- s3(X), not flagged(X).\n\
             s5(X) :- s4(X), approved_by(X, M), manager(M).",
        )
        .expect("rules parse");
    let mut facts = Vec::new();
    for i in 0..100 {
        let u = format!("u{i}");
        facts.push(Atom::fact("user", &[&u]));
        if i % 2 == 1 {
            facts.push(Atom::fact("active", &[&u]));
        }
        facts.push(Atom::fact(
            "member",
            &[&u, if i % 3 == 1 { "finance" } else { "sales" }],
        ));
        if i % 5 == 0 {
            facts.push(Atom::fact("suspended", &[&u]));
        }
        facts.push(Atom::fact("trained", &[&u]));
        if i % 11 == 0 {
            facts.push(Atom::fact("flagged", &[&u]));
        }
        facts.push(Atom::fact("approved_by", &[&u, "m1"]));
    }
    facts.push(Atom::fact("manager", &["m1"]));
    engine.assert_facts(facts).expect("facts are ground");
    engine
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("formal_reasoning");
    let engine = engine();
    let opts = ProveOptions::default();
    let proof = engine
        .prove("s5(u7)", &opts)
        .expect("prove runs")
        .proof()
        .cloned()
        .expect("s5(u7) holds");
    assert_eq!(proof.depth(), 5);
    group.bench_function("prove_5_step_checked_warm", |b| {
        b.iter(|| {
            engine
                .prove(black_box("s5(u7)"), &opts)
                .expect("prove runs")
        })
    });
    group.bench_function("prove_failed_with_explanation", |b| {
        b.iter(|| {
            engine
                .prove(black_box("s5(u5)"), &opts)
                .expect("prove runs")
        })
    });
    let rules = engine.rules();
    let facts = engine.facts();
    group.bench_function("check_proof_standalone_5_step", |b| {
        b.iter(|| check_proof(black_box(&proof), &rules, &facts).expect("checks"))
    });
    // Each iteration changes the facts first (untimed), so every timed prove rebuilds the
    // model and the checker.
    group.bench_function("prove_5_step_cold_model_rebuild", |b| {
        b.iter_custom(|iters| {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                engine.assert_fact("noise(n1)").expect("fact");
                let start = std::time::Instant::now();
                black_box(
                    engine
                        .prove(black_box("s5(u7)"), &opts)
                        .expect("prove runs"),
                );
                total += start.elapsed();
                engine.retract_fact("noise(n1)").expect("fact");
            }
            total
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
