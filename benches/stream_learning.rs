//! Stream-learning hot paths: scoring 8 candidates and one online update, ~60 features.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use lean_agentic_native::learning::{ArmCandidate, ContextFeatures, Learner, LearnerConfig};

const TEXT: &str = "please check the weather forecast for paris and lisbon this weekend then \
    compute the travel budget in euros book a train ticket with my usual seat preference and \
    remind me to pack an umbrella if rain is expected on saturday or sunday morning because \
    the last trip was soaked and also find a vegetarian restaurant near the hotel";

fn context() -> ContextFeatures {
    ContextFeatures::builder()
        .text(TEXT)
        .entity_type("Place")
        .entity_type("Date")
        .preference("units", "metric")
        .preference("lang", "en")
        .feature("hour", 0.75)
        .build()
        .expect("valid context")
}

fn bench(c: &mut Criterion) {
    let ctx = context();
    let learner = Learner::new(LearnerConfig {
        seed: Some(1),
        ..LearnerConfig::default()
    })
    .expect("valid config");
    let names: Vec<String> = (0..8).map(|i| format!("action_{i}")).collect();
    let candidates: Vec<ArmCandidate> = names
        .iter()
        .map(|n| ArmCandidate::new(n.clone(), 0.5))
        .collect();
    for (i, n) in names.iter().enumerate() {
        learner
            .update("bench", &ctx, n, i as f64 / 8.0, 0.5)
            .expect("update");
    }
    let mut g = c.benchmark_group("stream_learning");
    g.bench_function(
        format!("choose_8_candidates_{}_features", ctx.len() + 1),
        |b| b.iter(|| learner.choose("bench", black_box(&ctx), black_box(&candidates))),
    );
    g.bench_function("predict_8_candidates", |b| {
        b.iter(|| {
            names
                .iter()
                .map(|n| learner.predict("bench", black_box(&ctx), n))
                .sum::<f64>()
        })
    });
    let mut r = 0.0f64;
    g.bench_function("update_one", |b| {
        b.iter(|| {
            r = if r > 0.5 { 0.1 } else { 0.9 };
            learner.update("bench", black_box(&ctx), "action_3", r, 0.5)
        })
    });
    g.bench_function("build_context_from_text", |b| b.iter(context));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
