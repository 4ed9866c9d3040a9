//! The REST export, in three phases:
//!
//! 1. experiments by name (created or merged into), then each run's remote
//!    run: the journal's, or one found on the server by its
//!    `tracklite.store_id` / `tracklite.run_id` tags, or a new one
//!    (parents before children, so that `mlflow.parentRunId` names the
//!    parent's remote id); what the server already has is compared, and a
//!    param it holds with another value fails the run before anything of it
//!    is sent;
//! 2. params, tags and metric points in runs/log-batch requests, read from
//!    the store by one thread and sent by a small pool (one connection
//!    each); after each acknowledged batch the journal records the params,
//!    tags and the contiguous prefix of each series that the server has;
//! 3. per run, runs/update (status, end time) last, then a check of what
//!    the server holds.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracklite::{ExportJournal, JournaledRun, Run, RunStatus, Store};

use crate::api::{self, RemoteRun, RUN_ID_TAG, STORE_ID_TAG};
use crate::batch::Batch;
use crate::client::{normalise_target, Attempt, Auth, Client, RetryPolicy};
use crate::digests::Digests;
use crate::error::{ExportError, Result};
use crate::select::{select, PARENT_RUN_TAG};
use crate::summary::{Event, ExportSummary, RunFailure, RunOutcome, RunReport};
use crate::tls::TlsOptions;
use crate::verify::{distinct_points, verify_run};

/// What to export, where, and how.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// The MLflow tracking server: `http(s)://HOST[:PORT]`.
    pub target: String,
    /// Export the runs of these experiments (by name). With `runs` empty
    /// too: every active run of the store.
    pub experiments: Vec<String>,
    /// Export these runs (by id), besides those of `experiments`.
    pub runs: Vec<String>,
    /// Only say what would be sent, from the journal; no request is made
    /// and nothing is written.
    pub dry_run: bool,
    /// Requests in flight at once (one connection each). Default: 4.
    pub connections: usize,
    /// Default: none; see [`Auth::from_env`].
    pub auth: Auth,
    /// Timeouts and retries.
    pub retry: RetryPolicy,
    /// Check each run on the server once it is sent. Default: true.
    pub verify: bool,
    /// Default: the system's roots; see [`TlsOptions::from_env`].
    pub tls: TlsOptions,
}

impl ExportOptions {
    /// Options for `target` with every default.
    pub fn new(target: impl Into<String>) -> ExportOptions {
        ExportOptions {
            target: target.into(),
            experiments: Vec::new(),
            runs: Vec::new(),
            dry_run: false,
            connections: 4,
            auth: Auth::None,
            retry: RetryPolicy::default(),
            verify: true,
            tls: TlsOptions::default(),
        }
    }
}

/// One run being exported.
pub(crate) struct Item {
    pub run: Run,
    depth: usize,
    experiment_name: String,
    /// The local parent run, when it is exported too.
    parent: Option<String>,
    /// The parent's remote id, once known.
    parent_remote: Option<String>,
    pub remote_id: String,
    created: bool,
    journal: JournaledRun,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    /// Per key: points `[from, to)` to send.
    pub series: Vec<(String, u64, u64)>,
    end_needed: bool,
    failure: Mutex<Option<ExportError>>,
    /// Per key: the prefix the server has, and batches acknowledged past it.
    progress: Mutex<HashMap<String, Prefix>>,
    points_sent: AtomicU64,
    params_sent: AtomicU64,
    tags_sent: AtomicU64,
}

#[derive(Default)]
struct Prefix {
    done: u64,
    beyond: BTreeMap<u64, u64>,
}

impl Item {
    fn failed(&self) -> bool {
        self.failure.lock().unwrap().is_some()
    }

    fn fail(&self, e: ExportError) {
        let mut f = self.failure.lock().unwrap();
        if f.is_none() {
            *f = Some(e);
        }
    }

    fn id(&self) -> &str {
        &self.run.info.run_id
    }

    /// Marks segments acknowledged; the series whose prefix grew, with it.
    fn acknowledge(&self, segments: &[crate::batch::Segment]) -> Vec<(String, u64)> {
        let mut progress = self.progress.lock().unwrap();
        let mut grown = Vec::new();
        for s in segments {
            let p = progress.entry(s.key.clone()).or_default();
            p.beyond.insert(s.start, s.end);
            let before = p.done;
            while let Some(end) = p.beyond.remove(&p.done) {
                p.done = end;
            }
            if p.done != before {
                grown.retain(|(k, _): &(String, u64)| k != &s.key);
                grown.push((s.key.clone(), p.done));
            }
        }
        grown
    }
}

/// Shared by the phases.
struct Context<'a> {
    store: &'a Store,
    client: Client,
    journal: ExportJournal,
    store_id: String,
    connections: usize,
    verify: bool,
    digests: &'a Digests,
    on_event: &'a (dyn Fn(Event<'_>) + Sync),
    points_total: AtomicU64,
    points_sent: AtomicU64,
    started: Instant,
}

/// Exports `store` to the MLflow server of `options.target`. The summary
/// lists each run that failed; the error is for failures of the whole
/// export (the store, the target URL, the selection).
pub fn export(
    store: &Store,
    options: &ExportOptions,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<ExportSummary> {
    export_pass(store, options, &Digests::default(), on_event)
}

/// One export, with the artifact digests known from earlier ones.
pub(crate) fn export_pass(
    store: &Store,
    options: &ExportOptions,
    digests: &Digests,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<ExportSummary> {
    let started = Instant::now();
    let target = normalise_target(&options.target)?;
    let journal = store.export_journal(&target);
    let selection = select(store, &options.experiments, &options.runs)?;
    let journaled = journal.runs()?;
    let mut summary = ExportSummary {
        target: target.clone(),
        dry_run: options.dry_run,
        ..ExportSummary::default()
    };
    if options.dry_run {
        crate::summary::dry_run(&selection, &journal, &journaled, &mut summary)?;
        // Only to name the target: a dry run makes no request.
        let client = Client::new(&target, &options.auth, options.retry.clone(), 1);
        let experiments = selection.experiments.keys().cloned();
        summary.objects = crate::objects::dry_run(store, &client, &journal, experiments)?;
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }
    let tls = options.tls.config()?;
    store.flush()?;
    let connections = options.connections.clamp(1, 64);
    let ctx = Context {
        store,
        client: Client::with_tls(
            &target,
            &options.auth,
            options.retry.clone(),
            connections,
            tls,
        ),
        journal,
        store_id: store.store_id()?,
        connections,
        verify: options.verify,
        digests,
        on_event,
        points_total: AtomicU64::new(0),
        points_sent: AtomicU64::new(0),
        started,
    };

    // A refused certificate or refused credentials fail every request
    // alike: one try says so once, for the whole export, instead of once
    // per run. (A server that does not answer is left to the retries.)
    if let Attempt::Failed(e @ (ExportError::Tls { .. } | ExportError::Unauthorized { .. })) = ctx
        .client
        .get_once("experiments/search", &[("max_results", "1")])
    {
        return Err(e);
    }

    let mut items: Vec<Item> = selection
        .runs
        .into_iter()
        .map(|(run, depth)| {
            let experiment_name = selection.experiments[&run.info.experiment_id].name.clone();
            Item {
                parent: None,
                parent_remote: None,
                depth,
                experiment_name,
                remote_id: String::new(),
                created: false,
                journal: journaled.get(&run.info.run_id).cloned().unwrap_or_default(),
                params: Vec::new(),
                tags: Vec::new(),
                series: Vec::new(),
                end_needed: false,
                failure: Mutex::new(None),
                progress: Mutex::new(HashMap::new()),
                points_sent: AtomicU64::new(0),
                params_sent: AtomicU64::new(0),
                tags_sent: AtomicU64::new(0),
                run,
            }
        })
        .collect();
    let position: HashMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id().to_string(), i))
        .collect();
    for item in &mut items {
        let parent = item.run.tags.get(PARENT_RUN_TAG).cloned();
        item.parent = parent.filter(|p| position.contains_key(p));
    }

    // Phase 1: experiments, then runs level by level.
    let remote_experiments = experiments(&ctx, &selection.experiments, &items, &mut summary);
    let max_depth = items.iter().map(|i| i.depth).max().unwrap_or(0);
    for depth in 0..=max_depth {
        let level: Vec<usize> = (0..items.len())
            .filter(|&i| items[i].depth == depth)
            .collect();
        let prepared: Vec<(usize, Result<Prepared>)> = parallel(&level, connections, |&i| {
            let item = &items[i];
            let parent_remote = item.parent.as_ref().map(|p| {
                let parent = &items[position[p]];
                (parent.remote_id.clone(), parent.failed())
            });
            (i, prepare(&ctx, item, &remote_experiments, parent_remote))
        });
        for (i, outcome) in prepared {
            match outcome {
                Ok(p) => p.apply(&mut items[i]),
                Err(e) => items[i].fail(e),
            }
        }
    }

    // Phase 2: batches.
    let total: u64 = items
        .iter()
        .filter(|i| !i.failed())
        .flat_map(|i| i.series.iter().map(|(_, from, to)| to - from))
        .sum();
    ctx.points_total.store(total, Ordering::Relaxed);
    (ctx.on_event)(Event::Plan {
        runs: items.len(),
        points_total: total,
    });
    send_batches(&ctx, &items);
    // The last batches were acknowledged after the last event: the count
    // that phase 3 starts from.
    (ctx.on_event)(Event::Progress {
        points_sent: ctx.points_sent.load(Ordering::Relaxed),
        points_total: total,
        seconds: ctx.started.elapsed().as_secs_f64(),
    });

    // Phase 3: ends and checks, then the summary.
    let order: Vec<usize> = (0..items.len()).collect();
    let finished = parallel(&order, connections, |&i| finish(&ctx, &items[i]));
    for (item, outcome) in items.iter().zip(finished) {
        if let Err(e) = outcome {
            item.fail(e);
        }
        let report = RunReport {
            run_id: item.id().to_string(),
            run_name: item.run.info.run_name.clone(),
            experiment: item.experiment_name.clone(),
            remote_run_id: (!item.remote_id.is_empty()).then(|| item.remote_id.clone()),
            outcome: if item.failed() {
                RunOutcome::Failed
            } else if item.created {
                RunOutcome::Created
            } else if item.points_sent.load(Ordering::Relaxed) > 0
                || item.params_sent.load(Ordering::Relaxed) > 0
                || item.tags_sent.load(Ordering::Relaxed) > 0
                || item.end_needed
            {
                RunOutcome::Updated
            } else {
                RunOutcome::Skipped
            },
            points: item.points_sent.load(Ordering::Relaxed),
            params: item.params_sent.load(Ordering::Relaxed),
            tags: item.tags_sent.load(Ordering::Relaxed),
            error: item.failure.lock().unwrap().as_ref().map(|e| e.to_string()),
        };
        summary.add(&report);
        (ctx.on_event)(Event::Run(&report));
        if let Some(error) = report.error {
            summary.failures.push(RunFailure {
                run_id: report.run_id,
                run_name: report.run_name,
                experiment: report.experiment,
                error,
            });
        }
    }
    let exported: Vec<String> = items
        .iter()
        .filter(|i| !i.failed() && !i.remote_id.is_empty())
        .map(|i| i.id().to_string())
        .collect();
    summary.objects = crate::objects::export_objects(
        store,
        &ctx.client,
        &ctx.journal,
        &ctx.store_id,
        &exported,
        ctx.digests,
    )?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Runs `f` over `items` on up to `threads` threads; results in order.
fn parallel<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.min(items.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                results.lock().unwrap()[i] = Some(r);
            });
        }
    });
    results
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item ran"))
        .collect()
}

/// Each local experiment's remote id, or why its runs cannot be exported;
/// with the remote runs of this store found in it, when some of its runs
/// are not in the journal.
type RemoteExperiments =
    HashMap<String, std::result::Result<(String, BTreeMap<String, RemoteRun>), String>>;

fn experiments(
    ctx: &Context<'_>,
    experiments: &BTreeMap<String, tracklite::Experiment>,
    items: &[Item],
    summary: &mut ExportSummary,
) -> RemoteExperiments {
    let mut out = HashMap::new();
    for (local_id, e) in experiments {
        let result = (|| -> Result<(String, BTreeMap<String, RemoteRun>)> {
            let remote = match ctx.client.experiment_by_name(&e.name)? {
                Some(r) if r.deleted => {
                    return Err(ExportError::Selection {
                        reason: format!(
                            "experiment {:?} is deleted on the server (id {}); restore it there \
                             to export its runs",
                            e.name, r.id
                        ),
                    })
                }
                Some(r) => {
                    for (k, v) in &e.tags {
                        if !r.tags.contains_key(k) {
                            ctx.client.set_experiment_tag(&r.id, k, v)?;
                        }
                    }
                    (ctx.on_event)(Event::Experiment {
                        name: &e.name,
                        remote_id: &r.id,
                        created: false,
                    });
                    r.id
                }
                None => {
                    let id = match ctx.client.create_experiment(&e.name, &e.tags) {
                        Ok(id) => {
                            summary.experiments_created += 1;
                            id
                        }
                        // Made meanwhile (by another exporter, or by a
                        // try whose answer was lost).
                        Err(err) if err.code() == Some("RESOURCE_ALREADY_EXISTS") => {
                            match ctx.client.experiment_by_name(&e.name)? {
                                Some(r) => r.id,
                                None => return Err(err),
                            }
                        }
                        Err(err) => return Err(err),
                    };
                    (ctx.on_event)(Event::Experiment {
                        name: &e.name,
                        remote_id: &id,
                        created: true,
                    });
                    id
                }
            };
            ctx.journal.record_experiment(local_id, &remote)?;
            let unjournaled = items
                .iter()
                .any(|i| &i.run.info.experiment_id == local_id && i.journal.remote_id.is_empty());
            let found = if unjournaled {
                ctx.client.runs_of_store(&remote, &ctx.store_id)?
            } else {
                BTreeMap::new()
            };
            Ok((remote, found))
        })();
        out.insert(local_id.clone(), result.map_err(|e| e.to_string()));
    }
    out
}

/// What phase 1 decided for a run.
struct Prepared {
    parent_remote: Option<String>,
    /// Tags that runs/create carried.
    tags_in_create: u64,
    remote_id: String,
    created: bool,
    journal: JournaledRun,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    series: Vec<(String, u64, u64)>,
    end_needed: bool,
}

impl Prepared {
    fn apply(self, item: &mut Item) {
        item.parent_remote = self.parent_remote;
        *item.tags_sent.get_mut() = self.tags_in_create;
        item.remote_id = self.remote_id;
        item.created = self.created;
        item.journal = self.journal;
        item.params = self.params;
        item.tags = self.tags;
        // Each series' prefix on the server starts where the journal says.
        *item.progress.get_mut().unwrap() = self
            .series
            .iter()
            .map(|(key, from, _)| {
                let prefix = Prefix {
                    done: *from,
                    beyond: BTreeMap::new(),
                };
                (key.clone(), prefix)
            })
            .collect();
        item.series = self.series;
        item.end_needed = self.end_needed;
    }
}

/// The tags a run has on the server: its own, with the parent's remote id,
/// and the two that name it.
fn remote_tags(
    ctx: &Context<'_>,
    item: &Item,
    parent_remote: Option<&str>,
) -> Vec<(String, String)> {
    let mut tags: Vec<(String, String)> = item
        .run
        .tags
        .iter()
        .filter(|(k, _)| k.as_str() != STORE_ID_TAG && k.as_str() != RUN_ID_TAG)
        .map(|(k, v)| match (k.as_str(), parent_remote) {
            (PARENT_RUN_TAG, Some(p)) => (k.clone(), p.to_string()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    tags.push((STORE_ID_TAG.into(), ctx.store_id.clone()));
    tags.push((RUN_ID_TAG.into(), item.id().to_string()));
    tags
}

pub(crate) fn remote_tags_of(
    store_id: &str,
    run: &Run,
    parent_remote: Option<&str>,
) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = run.tags.clone();
    if let (Some(p), Some(v)) = (parent_remote, tags.get_mut(PARENT_RUN_TAG)) {
        *v = p.to_string();
    }
    tags.insert(STORE_ID_TAG.into(), store_id.to_string());
    tags.insert(RUN_ID_TAG.into(), run.info.run_id.clone());
    tags
}

fn prepare(
    ctx: &Context<'_>,
    item: &Item,
    remote_experiments: &RemoteExperiments,
    parent: Option<(String, bool)>,
) -> Result<Prepared> {
    let run_error = |reason: String| ExportError::Run {
        run_id: item.id().to_string(),
        reason,
    };
    let (experiment, found) = match &remote_experiments[&item.run.info.experiment_id] {
        Ok(x) => x,
        Err(e) => return Err(run_error(e.clone())),
    };
    let parent_remote = match &parent {
        Some((id, failed)) if id.is_empty() || *failed => {
            return Err(run_error(format!(
                "its parent run {} was not exported",
                item.parent.as_deref().unwrap_or("")
            )))
        }
        Some((id, _)) => Some(id.as_str()),
        None => None,
    };
    let tags = remote_tags(ctx, item, parent_remote);
    let local_id = item.id();

    let mut journal = item.journal.clone();
    let mut created = false;
    let mut tags_in_create = 0;
    // What the server holds, when the journal does not say.
    let mut remote_state: Option<RemoteRun> = None;
    if journal.remote_id.is_empty() {
        let made = match found.get(local_id) {
            Some(r) => Made::Found(clone_remote(r)),
            None => create_run(ctx, item, experiment, &tags)?,
        };
        match made {
            Made::Found(r) => {
                if r.deleted {
                    return Err(run_error(format!(
                        "its run on the server, {}, is deleted; restore it there (or delete it \
                         for good with `mlflow gc`) and export again",
                        r.id
                    )));
                }
                ctx.journal.record_run(local_id, &r.id)?;
                journal = JournaledRun {
                    remote_id: r.id.clone(),
                    ..JournaledRun::default()
                };
                remote_state = Some(r);
            }
            Made::Created(id) => {
                ctx.journal.record_run(local_id, &id)?;
                journal = JournaledRun {
                    remote_id: id,
                    ..JournaledRun::default()
                };
                // runs/create took the tags when they fit.
                if tags.len() <= crate::batch::MAX_PARAMS_TAGS {
                    ctx.journal.record_sent(local_id, &[], &tags, &[])?;
                    for (k, v) in &tags {
                        journal.tags.insert(k.clone(), tracklite::value_digest(v));
                    }
                    tags_in_create = tags.len() as u64;
                }
                created = true;
            }
        }
    }

    let mut params: Vec<(String, String)> = item
        .run
        .params
        .iter()
        .filter(|(k, v)| !journal.param_sent(k, v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut tags: Vec<(String, String)> = tags
        .into_iter()
        .filter(|(k, v)| !journal.tag_sent(k, v))
        .collect();
    if remote_state.is_none() && !params.is_empty() && !created {
        remote_state = Some(ctx.client.get_run(&journal.remote_id)?);
    }
    let mut already_params = Vec::new();
    let mut already_tags = Vec::new();
    let mut already_series = Vec::new();
    if let Some(remote) = &remote_state {
        for (k, v) in &params {
            if let Some(r) = remote.params.get(k) {
                if r != v {
                    return Err(ExportError::ParamConflict {
                        run_id: local_id.to_string(),
                        remote_run_id: remote.id.clone(),
                        key: k.clone(),
                        local: v.clone(),
                        remote: r.clone(),
                    });
                }
                already_params.push((k.clone(), v.clone()));
            }
        }
        params.retain(|(k, _)| !remote.params.contains_key(k));
        tags.retain(|(k, v)| {
            let there = remote.tags.get(k) == Some(v);
            if there {
                already_tags.push((k.clone(), v.clone()));
            }
            !there
        });
        // A run found on the server (not in the journal): its series are
        // counted there, and one it holds whole is not sent again.
        if journal.series.is_empty() && !remote.metric_keys.is_empty() {
            for (key, summary) in &item.run.metrics {
                if !remote.metric_keys.contains(key) {
                    continue;
                }
                // The server keeps one of exactly equal points.
                let whole = ctx.client.metric_count_is(&remote.id, key, summary.count)? || {
                    let there = ctx.client.metric_count(&remote.id, key)?;
                    there == summary.count
                        || there == distinct_points(ctx.store, local_id, key, summary.count)?
                };
                if whole {
                    already_series.push((key.clone(), summary.count));
                }
            }
        }
        // Ended as the store says already: no runs/update.
        let info = &item.run.info;
        if journal.status.is_none()
            && remote.status == info.status.as_str()
            && remote.end_time == info.end_time
        {
            ctx.journal
                .record_end(local_id, info.status, info.end_time)?;
            journal.status = Some(info.status);
            journal.end_time = info.end_time;
        }
    }
    if !already_params.is_empty() || !already_tags.is_empty() || !already_series.is_empty() {
        ctx.journal
            .record_sent(local_id, &already_params, &already_tags, &already_series)?;
        for (k, v) in &already_params {
            journal.params.insert(k.clone(), tracklite::value_digest(v));
        }
        for (k, n) in &already_series {
            journal.series.insert(k.clone(), *n);
        }
    }

    let series = item
        .run
        .metrics
        .iter()
        .filter_map(|(key, s)| {
            let from = journal.points_sent(key);
            (s.count > from).then(|| (key.clone(), from, s.count))
        })
        .collect();
    let info = &item.run.info;
    let end_needed = (
        journal.status.unwrap_or(RunStatus::Running),
        journal.end_time,
    ) != (info.status, info.end_time);
    Ok(Prepared {
        parent_remote: parent_remote.map(str::to_string),
        tags_in_create,
        remote_id: journal.remote_id.clone(),
        created,
        journal,
        params,
        tags,
        series,
        end_needed,
    })
}

fn clone_remote(r: &RemoteRun) -> RemoteRun {
    RemoteRun {
        id: r.id.clone(),
        deleted: r.deleted,
        status: r.status.clone(),
        start_time: r.start_time,
        end_time: r.end_time,
        params: r.params.clone(),
        tags: r.tags.clone(),
        metric_keys: r.metric_keys.clone(),
    }
}

/// What [`create_run`] did.
enum Made {
    /// An earlier try had made it (its answer was lost): found on the server.
    Found(RemoteRun),
    /// Made now, with this id.
    Created(String),
}

/// Creates the run's remote run. runs/create is not retried blindly:
/// before each retry the server is searched for the run, so that no try
/// leaves a second remote run.
fn create_run(
    ctx: &Context<'_>,
    item: &Item,
    experiment: &str,
    tags: &[(String, String)],
) -> Result<Made> {
    let info = &item.run.info;
    let in_create: Vec<(String, String)> = if tags.len() <= crate::batch::MAX_PARAMS_TAGS {
        tags.to_vec()
    } else {
        tags.iter()
            .filter(|(k, _)| k == STORE_ID_TAG || k == RUN_ID_TAG || k == "mlflow.runName")
            .cloned()
            .collect()
    };
    let body = api::create_run_body(
        experiment,
        &info.user_id,
        &info.run_name,
        info.start_time,
        &in_create,
    );
    let attempts = ctx.client.attempts();
    let mut last = None;
    // The wait a 429 or 503 asked for (Retry-After), else the backoff.
    let mut asked = None;
    for attempt in 1..=attempts {
        if attempt > 1 {
            let backoff = ctx.client.backoff(attempt - 1);
            std::thread::sleep(asked.take().unwrap_or(backoff));
            match ctx.client.runs_of_store(experiment, &ctx.store_id) {
                Ok(mut found) => {
                    if let Some(r) = found.remove(item.id()) {
                        return Ok(Made::Found(r));
                    }
                }
                Err(e) => {
                    last = Some(e);
                    continue;
                }
            }
        }
        match ctx.client.post_once("runs/create", &body) {
            Attempt::Done(answer) => return Ok(Made::Created(api::created_run_id(&answer)?)),
            Attempt::Again(e, wait) => {
                last = Some(e);
                asked = wait;
            }
            Attempt::Failed(e) => return Err(e),
        }
    }
    Err(last.expect("at least one attempt"))
}

/// Phase 2: one thread reads points from the store into batches; a pool
/// sends them and journals what the server acknowledged.
fn send_batches(ctx: &Context<'_>, items: &[Item]) {
    let (tx, rx) = sync_channel::<Batch>(ctx.connections * 2);
    let rx = Mutex::new(rx);
    std::thread::scope(|s| {
        for _ in 0..ctx.connections {
            s.spawn(|| loop {
                let next = rx.lock().unwrap().recv();
                let Ok(batch) = next else { break };
                send_one(ctx, &items[batch.run], &batch);
            });
        }
        let mut last_event = Instant::now();
        for (i, item) in items.iter().enumerate() {
            if item.failed() {
                continue;
            }
            if let Err(e) = produce(ctx, i, item, &tx, &mut last_event) {
                item.fail(e);
            }
        }
        drop(tx);
    });
}

fn produce(
    ctx: &Context<'_>,
    i: usize,
    item: &Item,
    tx: &std::sync::mpsc::SyncSender<Batch>,
    last_event: &mut Instant,
) -> Result<()> {
    let mut batch = Batch::new(i);
    let mut send = |b: Batch| {
        if last_event.elapsed() >= Duration::from_secs(1) {
            *last_event = Instant::now();
            (ctx.on_event)(Event::Progress {
                points_sent: ctx.points_sent.load(Ordering::Relaxed),
                points_total: ctx.points_total.load(Ordering::Relaxed),
                seconds: ctx.started.elapsed().as_secs_f64(),
            });
        }
        // The pool outlives the producer: a send cannot fail.
        let _ = tx.send(b);
    };
    for (k, v) in &item.params {
        if !batch.add_param(k, v) {
            send(std::mem::replace(&mut batch, Batch::new(i)));
            assert!(batch.add_param(k, v), "one param fits an empty batch");
        }
    }
    for (k, v) in &item.tags {
        if !batch.add_tag(k, v) {
            send(std::mem::replace(&mut batch, Batch::new(i)));
            assert!(batch.add_tag(k, v), "one tag fits an empty batch");
        }
    }
    for (key, from, to) in &item.series {
        if item.failed() {
            return Ok(());
        }
        let c = ctx.store.metric_history_columns(item.id(), key)?;
        let to = (*to as usize).min(c.values.len());
        for ordinal in *from as usize..to {
            let (v, t, s) = (c.values[ordinal], c.timestamps[ordinal], c.steps[ordinal]);
            if !batch.add_point(key, ordinal as u64, v, t, s) {
                send(std::mem::replace(&mut batch, Batch::new(i)));
                if item.failed() {
                    return Ok(());
                }
                assert!(batch.add_point(key, ordinal as u64, v, t, s));
            }
        }
    }
    if !batch.is_empty() {
        send(batch);
    }
    Ok(())
}

fn send_one(ctx: &Context<'_>, item: &Item, batch: &Batch) {
    if item.failed() {
        return;
    }
    if let Err(e) = ctx
        .client
        .post("runs/log-batch", &batch.body(&item.remote_id))
    {
        item.fail(ExportError::Run {
            run_id: item.id().to_string(),
            reason: format!("sending a batch: {e}"),
        });
        return;
    }
    let grown = item.acknowledge(&batch.segments);
    if let Err(e) = ctx
        .journal
        .record_sent(item.id(), &batch.params, &batch.tags, &grown)
    {
        item.fail(e.into());
        return;
    }
    let points = batch.points() as u64;
    item.points_sent.fetch_add(points, Ordering::Relaxed);
    item.params_sent
        .fetch_add(batch.params.len() as u64, Ordering::Relaxed);
    item.tags_sent
        .fetch_add(batch.tags.len() as u64, Ordering::Relaxed);
    ctx.points_sent.fetch_add(points, Ordering::Relaxed);
}

/// Phase 3 for one run: runs/update last, then the check.
fn finish(ctx: &Context<'_>, item: &Item) -> Result<()> {
    if item.failed() {
        return Ok(());
    }
    crate::artifacts::upload_run(
        ctx.store,
        &ctx.client,
        &ctx.journal,
        item.id(),
        &item.remote_id,
        ctx.digests,
        &|path, bytes| {
            (ctx.on_event)(Event::Artifact {
                run_id: item.id(),
                path,
                bytes,
            })
        },
    )?;
    let info = &item.run.info;
    if item.end_needed {
        ctx.client.update_run(
            &item.remote_id,
            info.status.as_str(),
            info.end_time,
            &info.run_name,
        )?;
        ctx.journal
            .record_end(item.id(), info.status, info.end_time)?;
    }
    let sent_anything = item.created
        || item.end_needed
        || item.points_sent.load(Ordering::Relaxed) > 0
        || item.params_sent.load(Ordering::Relaxed) > 0
        || item.tags_sent.load(Ordering::Relaxed) > 0;
    if ctx.verify && sent_anything {
        let expected = remote_tags_of(&ctx.store_id, &item.run, item.parent_remote.as_deref());
        verify_run(ctx.store, &ctx.client, item, &expected)?;
    }
    Ok(())
}
