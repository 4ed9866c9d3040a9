//! A small training run recorded with tracklite.
//!
//! The example trains a two-layer neural network (2 inputs, a tanh hidden
//! layer, a softmax over 2 classes) by full-batch gradient descent on the
//! "two moons" dataset, all in plain `f64` arithmetic, with a dataset and
//! initial weights drawn from a seeded generator: the same seed gives the
//! same curve. It records into the store:
//!
//! - the run, in experiment `demo`, named after its settings;
//! - params (learning rate, hidden units, steps, seed, ...), tags, and the
//!   dataset as an input of the run;
//! - metrics `train_loss` and `train_accuracy` at every step, and
//!   `val_loss` and `val_accuracy` every [`EVAL_EVERY`] steps and at the
//!   last, through a [`MetricWriter`] and its series handles;
//! - the trained weights as the artifact `model/weights.json`;
//!
//! then ends the run FINISHED (FAILED when training fails) and prints one
//! line: the run id and the final accuracy.
//!
//! ```text
//! cargo run --release --example train -- --store demo-store [--steps 300] [--seed 42] [--lr 1.0] [--hidden 16]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use tracklite::{
    now_ms, Dataset, DatasetInput, MetricWriter, NewRun, RunStatus, SeriesHandle, Store,
};

/// Validation metrics are logged every this many steps, and at the last.
pub const EVAL_EVERY: u64 = 10;
/// Experiment the runs go to.
pub const EXPERIMENT: &str = "demo";
/// Points in the dataset, and how many of them are held out for validation.
const POINTS: usize = 400;
const VALIDATION: usize = 100;
/// Standard deviation of the noise added to each point.
const NOISE: f64 = 0.2;
/// Output classes: the two moons.
const CLASSES: usize = 2;

const USAGE: &str = "usage: train --store PATH [--steps N] [--seed S] [--lr X] [--hidden H]

Trains a small neural network on two interleaving moons and records the run
in the tracklite store at PATH (created when missing), experiment \"demo\".

  --store PATH   the store directory [default: the TRACKLITE_STORE variable]
  --steps N      gradient-descent steps [default: 300]
  --seed S       seed of the dataset and the initial weights [default: 42]
  --lr X         learning rate [default: 1.0]
  --hidden H     hidden units [default: 16]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match train(&options) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The command-line settings of one training run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub store: PathBuf,
    pub steps: u64,
    pub seed: u64,
    pub lr: f64,
    pub hidden: usize,
}

impl Options {
    /// Parses `--flag value` and `--flag=value` arguments.
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Options, String> {
        let mut store = std::env::var_os("TRACKLITE_STORE")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from);
        let (mut steps, mut seed, mut lr, mut hidden): (u64, u64, f64, usize) = (300, 42, 1.0, 16);
        let mut rest = args.iter().map(AsRef::as_ref);
        while let Some(arg) = rest.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
                _ => (arg, None),
            };
            let mut value = || {
                inline
                    .or_else(|| rest.next())
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag {
                "--store" => store = Some(PathBuf::from(value()?)),
                "--steps" => steps = number(flag, value()?)?,
                "--seed" => seed = number(flag, value()?)?,
                "--lr" => lr = number(flag, value()?)?,
                "--hidden" => hidden = number(flag, value()?)?,
                _ => return Err(format!("unknown argument {arg:?}")),
            }
        }
        let store = store.ok_or("no store given: pass --store PATH or set TRACKLITE_STORE")?;
        if steps == 0 {
            return Err("--steps must be at least 1".into());
        }
        if !(lr.is_finite() && lr > 0.0) {
            return Err(format!("--lr must be a positive number, not {lr}"));
        }
        if hidden == 0 {
            return Err("--hidden must be at least 1".into());
        }
        Ok(Options {
            store,
            steps,
            seed,
            lr,
            hidden,
        })
    }

    /// The run's name, after its settings: `moons-h16-lr1-seed42`.
    pub fn run_name(&self) -> String {
        format!("moons-h{}-lr{}-seed{}", self.hidden, self.lr, self.seed)
    }
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} takes a number, not {text:?}"))
}

/// What a finished training run reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub run_id: String,
    pub run_name: String,
    pub steps: u64,
    pub first_train_loss: f64,
    pub final_train_loss: f64,
    pub final_train_accuracy: f64,
    pub final_val_accuracy: f64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "run {} ({}): {} steps, train loss {:.4} -> {:.4}, train accuracy {:.3}, \
             validation accuracy {:.3}",
            self.run_id,
            self.run_name,
            self.steps,
            self.first_train_loss,
            self.final_train_loss,
            self.final_train_accuracy,
            self.final_val_accuracy
        )
    }
}

/// Trains one model and records the run in the store at `options.store`.
pub fn train(options: &Options) -> tracklite::Result<Summary> {
    let mut rng = SplitMix64(options.seed);
    let mut points = two_moons(&mut rng, POINTS, NOISE);
    shuffle(&mut rng, &mut points);
    let (validation, training) = points.split_at(VALIDATION);
    let scale = Standardize::fit(training);
    let training: Vec<Point> = training.iter().map(|p| scale.apply(p)).collect();
    let validation: Vec<Point> = validation.iter().map(|p| scale.apply(p)).collect();
    let mut model = Mlp::new(&mut rng, options.hidden);

    let store = Store::open(&options.store)?;
    let experiment_id = store.experiment_id_for(EXPERIMENT)?;
    let run_name = options.run_name();
    let run = store.create_run(NewRun {
        experiment_id: Some(experiment_id),
        run_name: Some(run_name.clone()),
        tags: pairs(&[
            ("mlflow.source.name", "examples/train.rs".into()),
            ("mlflow.source.type", "LOCAL".into()),
            ("model", format!("mlp 2-{}-{CLASSES} tanh", options.hidden)),
        ]),
        ..NewRun::default()
    })?;
    let run_id = run.run_id;
    let recorded = (|| {
        store.log_params_and_tags(
            &run_id,
            &pairs(&[
                ("learning_rate", options.lr.to_string()),
                ("hidden_units", options.hidden.to_string()),
                ("steps", options.steps.to_string()),
                ("seed", options.seed.to_string()),
                ("eval_every", EVAL_EVERY.to_string()),
                ("optimizer", "full-batch gradient descent".into()),
                ("train_size", training.len().to_string()),
                ("val_size", validation.len().to_string()),
            ]),
            &[],
        )?;
        store.log_inputs(&run_id, &[dataset_input(&points, options.seed)])?;
        let mut writer = store.metric_writer(&run_id)?;
        let curve = fit(
            &mut writer,
            &mut model,
            &training,
            &validation,
            options.steps,
            options.lr,
        )?;
        // Seals the writer's blocks before the run ends.
        writer.close()?;
        store.log_artifact_bytes(&run_id, "model/weights.json", model.to_json().as_bytes())?;
        Ok(curve)
    })();
    let curve = match recorded {
        Ok(curve) => curve,
        Err(e) => {
            // The run stays in the store, marked as failed; the error is the one to report.
            let _ = store.end_run(&run_id, RunStatus::Failed);
            return Err(e);
        }
    };
    store.end_run(&run_id, RunStatus::Finished)?;
    Ok(Summary {
        run_id,
        run_name,
        steps: options.steps,
        first_train_loss: curve.first_train_loss,
        final_train_loss: curve.last_train.0,
        final_train_accuracy: curve.last_train.1,
        final_val_accuracy: curve.last_val.1,
    })
}

fn pairs(items: &[(&str, String)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

/// The dataset as an input of the run: its digest changes with its points.
fn dataset_input(points: &[Point], seed: u64) -> DatasetInput {
    // FNV-1a over the points' bits.
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for p in points {
        for word in [p.x[0].to_bits(), p.x[1].to_bits(), p.label as u64] {
            for byte in word.to_le_bytes() {
                hash = (hash ^ byte as u64).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    DatasetInput {
        dataset: Dataset {
            name: "two-moons".into(),
            digest: format!("{:08x}", hash as u32),
            source_type: "code".into(),
            source: format!("two_moons(points={POINTS}, noise={NOISE}, seed={seed})"),
            schema: None,
            profile: Some(format!(
                "{{\"num_rows\": {}, \"validation_rows\": {VALIDATION}}}",
                points.len()
            )),
        },
        tags: [("mlflow.data.context".to_string(), "training".to_string())].into(),
    }
}

/// The last metrics of a training run: (loss, accuracy) pairs.
struct Curve {
    first_train_loss: f64,
    last_train: (f64, f64),
    last_val: (f64, f64),
}

/// Handles of the four metric series, looked up once.
struct Series {
    train_loss: SeriesHandle,
    train_accuracy: SeriesHandle,
    val_loss: SeriesHandle,
    val_accuracy: SeriesHandle,
}

/// Runs `steps` steps of gradient descent. Metrics at step `s` describe the
/// model after `s` updates.
fn fit(
    writer: &mut MetricWriter,
    model: &mut Mlp,
    training: &[Point],
    validation: &[Point],
    steps: u64,
    lr: f64,
) -> tracklite::Result<Curve> {
    let series = Series {
        train_loss: writer.series("train_loss")?,
        train_accuracy: writer.series("train_accuracy")?,
        val_loss: writer.series("val_loss")?,
        val_accuracy: writer.series("val_accuracy")?,
    };
    let mut curve = Curve {
        first_train_loss: f64::NAN,
        last_train: (f64::NAN, f64::NAN),
        last_val: (f64::NAN, f64::NAN),
    };
    let mut gradient = Mlp::zeros(model.hidden);
    for step in 0..steps {
        let (loss, accuracy) = model.gradient(training, &mut gradient);
        let now = now_ms();
        let s = step as i64;
        writer.append(series.train_loss, loss, now, s)?;
        writer.append(series.train_accuracy, accuracy, now, s)?;
        if step == 0 {
            curve.first_train_loss = loss;
        }
        curve.last_train = (loss, accuracy);
        if step % EVAL_EVERY == 0 || step + 1 == steps {
            let (val_loss, val_accuracy) = model.evaluate(validation);
            writer.append(series.val_loss, val_loss, now, s)?;
            writer.append(series.val_accuracy, val_accuracy, now, s)?;
            curve.last_val = (val_loss, val_accuracy);
        }
        model.descend(&gradient, lr);
    }
    Ok(curve)
}

/// One labelled point of the dataset.
#[derive(Debug, Clone, Copy)]
struct Point {
    x: [f64; 2],
    label: usize,
}

/// Two interleaving half circles: class 0 the upper moon, class 1 the lower
/// one, shifted right; Gaussian noise of deviation `noise` on both axes.
fn two_moons(rng: &mut SplitMix64, n: usize, noise: f64) -> Vec<Point> {
    (0..n)
        .map(|i| {
            let label = i % 2;
            let t = std::f64::consts::PI * rng.uniform();
            let (x, y) = if label == 0 {
                (t.cos(), t.sin())
            } else {
                (1.0 - t.cos(), 0.5 - t.sin())
            };
            Point {
                x: [x + noise * rng.normal(), y + noise * rng.normal()],
                label,
            }
        })
        .collect()
}

/// Fisher-Yates shuffle.
fn shuffle(rng: &mut SplitMix64, points: &mut [Point]) {
    for i in (1..points.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        points.swap(i, j);
    }
}

/// Centres and scales each feature with the training set's mean and
/// standard deviation.
struct Standardize {
    mean: [f64; 2],
    std: [f64; 2],
}

impl Standardize {
    fn fit(points: &[Point]) -> Standardize {
        let n = points.len() as f64;
        let mut mean = [0.0; 2];
        let mut std = [0.0; 2];
        for d in 0..2 {
            mean[d] = points.iter().map(|p| p.x[d]).sum::<f64>() / n;
            let var = points
                .iter()
                .map(|p| (p.x[d] - mean[d]).powi(2))
                .sum::<f64>()
                / n;
            std[d] = var.sqrt().max(1e-12);
        }
        Standardize { mean, std }
    }

    fn apply(&self, p: &Point) -> Point {
        Point {
            x: [
                (p.x[0] - self.mean[0]) / self.std[0],
                (p.x[1] - self.mean[1]) / self.std[1],
            ],
            label: p.label,
        }
    }
}

/// A two-layer perceptron: `hidden` tanh units, then a softmax over
/// [`CLASSES`] classes. Weights are row-major: `w1[j * 2 + d]` joins input
/// `d` to hidden unit `j`, `w2[c * hidden + j]` hidden unit `j` to class `c`.
struct Mlp {
    hidden: usize,
    w1: Vec<f64>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: [f64; CLASSES],
}

impl Mlp {
    /// Glorot-uniform weights, zero biases.
    fn new(rng: &mut SplitMix64, hidden: usize) -> Mlp {
        let mut m = Mlp::zeros(hidden);
        let limit1 = (6.0 / (2 + hidden) as f64).sqrt();
        let limit2 = (6.0 / (hidden + CLASSES) as f64).sqrt();
        for w in &mut m.w1 {
            *w = limit1 * (2.0 * rng.uniform() - 1.0);
        }
        for w in &mut m.w2 {
            *w = limit2 * (2.0 * rng.uniform() - 1.0);
        }
        m
    }

    fn zeros(hidden: usize) -> Mlp {
        Mlp {
            hidden,
            w1: vec![0.0; hidden * 2],
            b1: vec![0.0; hidden],
            w2: vec![0.0; CLASSES * hidden],
            b2: [0.0; CLASSES],
        }
    }

    /// Hidden activations into `h`; returns the class logits.
    fn forward(&self, x: [f64; 2], h: &mut [f64]) -> [f64; CLASSES] {
        for (j, h) in h.iter_mut().enumerate() {
            *h = (self.w1[j * 2] * x[0] + self.w1[j * 2 + 1] * x[1] + self.b1[j]).tanh();
        }
        let mut logits = self.b2;
        for (c, logit) in logits.iter_mut().enumerate() {
            let row = &self.w2[c * self.hidden..(c + 1) * self.hidden];
            *logit += row.iter().zip(h.iter()).map(|(w, h)| w * h).sum::<f64>();
        }
        logits
    }

    /// Mean cross-entropy and accuracy over `points`.
    fn evaluate(&self, points: &[Point]) -> (f64, f64) {
        let mut h = vec![0.0; self.hidden];
        let (mut loss, mut correct) = (0.0, 0usize);
        for p in points {
            let logits = self.forward(p.x, &mut h);
            let (l, _) = softmax_cross_entropy(&logits, p.label);
            loss += l;
            correct += usize::from(argmax(&logits) == p.label);
        }
        let n = points.len() as f64;
        (loss / n, correct as f64 / n)
    }

    /// The gradient of the mean cross-entropy over `points`, into `grad`;
    /// returns the loss and accuracy of the current weights.
    fn gradient(&self, points: &[Point], grad: &mut Mlp) -> (f64, f64) {
        let hidden = self.hidden;
        let n = points.len() as f64;
        grad.w1.fill(0.0);
        grad.b1.fill(0.0);
        grad.w2.fill(0.0);
        grad.b2 = [0.0; CLASSES];
        let mut h = vec![0.0; hidden];
        let mut dh = vec![0.0; hidden];
        let (mut loss, mut correct) = (0.0, 0usize);
        for p in points {
            let logits = self.forward(p.x, &mut h);
            let (l, probs) = softmax_cross_entropy(&logits, p.label);
            loss += l;
            correct += usize::from(argmax(&logits) == p.label);
            dh.fill(0.0);
            for (c, prob) in probs.into_iter().enumerate() {
                // d(loss)/d(logit c) = p_c - [c == label], averaged over points.
                let dz = (prob - f64::from(u8::from(c == p.label))) / n;
                grad.b2[c] += dz;
                for j in 0..hidden {
                    grad.w2[c * hidden + j] += dz * h[j];
                    dh[j] += dz * self.w2[c * hidden + j];
                }
            }
            for j in 0..hidden {
                let dz = dh[j] * (1.0 - h[j] * h[j]);
                grad.b1[j] += dz;
                grad.w1[j * 2] += dz * p.x[0];
                grad.w1[j * 2 + 1] += dz * p.x[1];
            }
        }
        (loss / n, correct as f64 / n)
    }

    /// One gradient-descent update.
    fn descend(&mut self, grad: &Mlp, lr: f64) {
        let update = |w: &mut [f64], g: &[f64]| {
            for (w, g) in w.iter_mut().zip(g) {
                *w -= lr * g;
            }
        };
        update(&mut self.w1, &grad.w1);
        update(&mut self.b1, &grad.b1);
        update(&mut self.w2, &grad.w2);
        update(&mut self.b2, &grad.b2);
    }

    fn to_json(&self) -> String {
        serde_json::json!({
            "architecture": format!("2-{}-{CLASSES} tanh softmax", self.hidden),
            "w1": self.w1,
            "b1": self.b1,
            "w2": self.w2,
            "b2": self.b2,
        })
        .to_string()
    }
}

/// The loss of `label` under the softmax of `logits`, and the probabilities.
fn softmax_cross_entropy(logits: &[f64; CLASSES], label: usize) -> (f64, [f64; CLASSES]) {
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut probs = logits.map(|z| (z - max).exp());
    let sum: f64 = probs.iter().sum();
    for p in &mut probs {
        *p /= sum;
    }
    let log_sum_exp = max + sum.ln();
    (log_sum_exp - logits[label], probs)
}

fn argmax(values: &[f64; CLASSES]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}

/// splitmix64: a tiny, well-mixed generator, enough for data and weights.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), with 53 random bits.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal, by the Box-Muller transform.
    fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform(); // in (0, 1]: the logarithm is finite
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
