//! The agent: opens the store, starts the collection and forecast threads and the
//! HTTP server, and shuts all of it down cleanly on SIGTERM/SIGINT.
//!
//! Threads are few and fixed: one for collection, one for forecasts, one HTTP
//! worker pool of [`HTTP_WORKERS`], plus sled's own background thread.

mod clock;
mod collect_loop;
pub(crate) mod derived;
mod forecast_loop;
mod forecast_metrics;
mod logging;
mod monitor_metrics;
mod notify;
mod web;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::export::exposition::shared_families;
use crate::export::http::{router, AppState};
use crate::export::scrape_cache::{EncodedFamilies, Exposition};
use crate::export::self_metrics::SelfMetrics;
use crate::store::{Store, StoreConfig, StoreError};

pub use crate::memory::{release_file_pages, release_free_memory, tune_malloc};
pub use collect_loop::now_ms;
/// Public for the forecast monitor's bench: what a forecast cycle publishes for `/metrics`.
pub use forecast_metrics::families_for_at;
pub use web::check as check_web_config;

pub const HTTP_WORKERS: usize = 2;

/// Exit code when the agent cannot start (store unusable, address in use).
pub const EXIT_START_FAILED: i32 = 1;

fn open_store(cfg: &Config) -> Result<Store, String> {
    let s = &cfg.storage;
    let store_cfg = StoreConfig {
        path: s.path.clone(),
        step: cfg.collect_interval,
        raw_retention: s.raw_retention,
        downsample_step: s.downsample_step,
        downsample_retention: s.downsample_retention,
        cache_bytes: s.cache_bytes,
        max_series: s.max_series,
    };
    match Store::open(store_cfg.clone()) {
        Ok(store) => Ok(store),
        Err(StoreError::Corrupt { path, reason }) if s.reset_on_corruption => {
            let aside = crate::store::move_aside(&path).map_err(|e| format!("store {} is corrupt ({reason}) and could not be moved aside: {e}", path.display()))?;
            tracing::warn!(corrupt = %path.display(), moved_to = %aside.display(), %reason, "store was corrupt; moved it aside and starting fresh");
            Store::open(store_cfg).map_err(|e| format!("store {}: {e}", s.path.display()))
        }
        Err(e @ StoreError::Corrupt { .. }) => Err(format!(
            "{e}; the data is left untouched. Start with --storage.reset-on-corruption to move it aside and start fresh"
        )),
        Err(e) => Err(format!("store {}: {e}", s.path.display())),
    }
}

/// Runs the agent until SIGTERM/SIGINT; returns the exit code.
pub fn run(cfg: Config) -> i32 {
    tune_malloc();
    crate::memory::code_pages_on_demand();
    logging::init(&cfg.log_level, &cfg.log_format);
    let addr = cfg.listen_address;
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(HTTP_WORKERS)
        .max_blocking_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return EXIT_START_FAILED;
        }
    };
    // On a worker, not on this thread: a connection accepted here would be handed
    // to a worker, one more thread wake-up per scrape than accepting and serving
    // on the worker whose I/O driver saw the connection.
    rt.block_on(async move { tokio::spawn(serve(cfg, addr)).await })
        .unwrap_or(EXIT_START_FAILED)
}

async fn serve(cfg: Config, addr: SocketAddr) -> i32 {
    tracing::info!(version = env!("CARGO_PKG_VERSION"), store = %cfg.storage.path.display(), listen = %addr, "starting nodecast");
    let store = match open_store(&cfg) {
        Ok(s) => Arc::new(s),
        Err(e) => {
            tracing::error!("{e}");
            return EXIT_START_FAILED;
        }
    };
    let web = match web::WebSetup::load(cfg.web_config_file.as_deref()) {
        Ok(w) => w,
        Err(e) => {
            tracing::error!("{e}");
            return crate::cli::EXIT_USAGE;
        }
    };
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, address = %addr, "cannot listen");
            return EXIT_START_FAILED;
        }
    };
    if let Ok(local) = listener.local_addr() {
        tracing::info!(address = %local, tls = web.tls.is_some(), basic_auth = web.has_users(), "listening");
    }
    let metrics = SelfMetrics::default();
    let families = EncodedFamilies::new(shared_families());
    let forecast_families = EncodedFamilies::new(shared_families());
    let forecasts = crate::predict::shared_forecasts();
    let mut registry = Registry::default();
    metrics.register(&mut registry);
    for (tier, d) in [
        ("raw", cfg.storage.raw_retention),
        ("downsampled", cfg.storage.downsample_retention),
    ] {
        metrics
            .store_retention
            .get_or_create(&vec![("tier".to_string(), tier.to_string())])
            .set(d.as_secs_f64());
    }
    let exposition = Arc::new(Exposition {
        live: registry,
        parts: vec![families.clone(), forecast_families.clone()],
    });

    let ready = Arc::new(AtomicBool::new(false));
    let started_ms = now_ms();
    let heartbeat = Arc::new(AtomicI64::new(now_ms()));
    let collectors = crate::collect::REGISTRY
        .iter()
        .filter(|r| cfg.collectors.get(r.name).copied().unwrap_or(false))
        .map(|r| (r.build)(&cfg.collect_options))
        .collect();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let collect = collect_loop::CollectLoop {
        collectors,
        roots: cfg.roots.clone(),
        interval: cfg.collect_interval,
        flush_interval: cfg.storage.flush_interval,
        store: store.clone(),
        families: families.clone(),
        metrics: metrics.clone(),
        ready: ready.clone(),
        heartbeat: heartbeat.clone(),
    };
    let Some(collect_thread) = spawn_named("collect", move || collect.run(stop_rx)) else {
        return EXIT_START_FAILED;
    };
    let (fstop_tx, fstop_rx) = std::sync::mpsc::channel::<forecast_loop::Wake>();
    let forecaster = forecast_loop::ForecastLoop {
        store: store.clone(),
        settings: cfg.forecast.clone(),
        downsample_step: cfg.storage.downsample_step,
        downsample_retention: cfg.storage.downsample_retention,
        current: families.source().clone(),
        out_families: forecast_families,
        out_forecasts: forecasts.clone(),
        metrics: metrics.clone(),
        ready: ready.clone(),
        started_ms,
    };
    let Some(forecast_thread) = spawn_named("forecast", move || forecaster.run(fstop_rx)) else {
        return EXIT_START_FAILED;
    };
    if let Some(period) = notify::watchdog_interval() {
        tokio::spawn(watchdog(period, heartbeat.clone(), cfg.collect_interval));
    }

    if let (Some(url), Some(selector)) = (
        cfg.backfill.prometheus_url.clone(),
        cfg.backfill.selector.clone(),
    ) {
        let plan = crate::backfill::Plan {
            url,
            selector,
            step: cfg.storage.downsample_step,
            lookback: cfg.storage.downsample_retention,
            timeout: cfg.backfill.timeout,
            retries: 3,
        };
        tokio::spawn(backfill(
            plan,
            store.clone(),
            fstop_tx.clone(),
            metrics.clone(),
        ));
    }
    let view = Arc::new(crate::export::view::AgentView {
        store: store.clone(),
        forecast: cfg.forecast.clone(),
        raw_step_ms: cfg.collect_interval.as_millis() as i64,
        downsample_step_ms: cfg.storage.downsample_step.as_millis() as i64,
        collectors: crate::collect::REGISTRY
            .iter()
            .filter(|r| cfg.collectors.get(r.name).copied().unwrap_or(false))
            .map(|r| r.name)
            .collect(),
        backfill_configured: cfg.backfill.prometheus_url.is_some(),
        started_ms: now_ms(),
        last_forecast_cycle: metrics.forecast_last_run.clone(),
    });
    log_warmup(&view);
    // Start-up code has run; what a cycle needs faults back in.
    release_file_pages();
    let app = router(AppState {
        exposition,
        ready,
        forecasts,
        telemetry_path: cfg.telemetry_path.clone(),
        view,
    })
    .layer(axum::middleware::from_fn_with_state(
        web.auth.clone(),
        crate::export::auth::middleware,
    ));
    let handle = axum_server::Handle::new();
    tokio::spawn(web::signals(
        handle.clone(),
        web.clone(),
        cfg.web_config_file.clone(),
    ));
    let limit = crate::export::conn_limit::LimitAcceptor::new(
        crate::export::conn_limit::Limits {
            global: cfg.max_connections,
            per_client: cfg.max_connections_per_client,
        },
        &metrics.http_connections_rejected,
    );
    let served =
        crate::export::http::serve(listener, app, web.tls.clone(), handle, limit, web.http2);
    let code = match served.await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "HTTP server failed");
            EXIT_START_FAILED
        }
    };
    notify::notify("STOPPING=1");
    drop(stop_tx);
    let _ = fstop_tx.send(forecast_loop::Wake::Stop);
    if forecast_thread.join().is_err() {
        tracing::error!("forecast thread panicked");
    }
    if collect_thread.join().is_err() {
        tracing::error!("collection thread panicked");
        return EXIT_START_FAILED;
    }
    drop(store);
    tracing::info!("stopped; store flushed");
    code
}

/// One line at start that says when forecasts begin, so a quiet first hours
/// never look like a broken agent.
fn log_warmup(view: &crate::export::view::AgentView) {
    use crate::predict::warmup::{human_duration_ms, min_history_below_models};
    let needed = view.needed_history_ms();
    let min = view.forecast.min_history.as_millis() as i64;
    if min_history_below_models(min, view.downsample_step_ms) {
        tracing::warn!(
            "--forecast.min-history {} is shorter than the {} of history the models need ({} points at --storage.downsample-step); forecasts start after {}",
            human_duration_ms(min),
            human_duration_ms(needed),
            crate::forecast::MIN_HISTORY,
            human_duration_ms(needed)
        );
    }
    let hint = if view.backfill_configured {
        "history is being pulled from Prometheus (--backfill.prometheus-url)"
    } else {
        "set --backfill.prometheus-url and --backfill.selector to start from this node's Prometheus history"
    };
    tracing::info!(
        "forecasts begin once a series has {} of history, at the next forecast cycle (every {}); the page at / shows when each is due; {hint}",
        human_duration_ms(needed),
        human_duration_ms(view.forecast.interval.as_millis() as i64)
    );
}

fn spawn_named(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> Option<std::thread::JoinHandle<()>> {
    match std::thread::Builder::new().name(name.into()).spawn(f) {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::error!(error = %e, thread = name, "cannot start a thread");
            None
        }
    }
}

/// A week of local history is enough to see weekly cycles; with less, pull history.
const BACKFILL_WHEN_SHORTER: Duration = Duration::from_secs(7 * 86400);

async fn backfill(
    plan: crate::backfill::Plan,
    store: Arc<Store>,
    wake: std::sync::mpsc::Sender<forecast_loop::Wake>,
    metrics: SelfMetrics,
) {
    let have = crate::backfill::local_history_seconds(&store, plan.step, plan.lookback, now_ms());
    if have >= BACKFILL_WHEN_SHORTER.as_secs_f64() {
        tracing::info!(
            local_history_seconds = have,
            "local history is long enough; no backfill"
        );
        return;
    }
    tracing::info!(url = %plan.url, selector = %plan.selector, local_history_seconds = have, "backfilling history from Prometheus");
    match crate::backfill::run(&plan, store, now_ms()).await {
        Ok(r) => {
            let result = |r: &str| vec![("result".to_string(), r.to_string())];
            metrics
                .backfill_samples
                .get_or_create(&result("stored"))
                .inc_by(r.stored);
            metrics
                .backfill_samples
                .get_or_create(&result("skipped"))
                .inc_by(r.skipped);
            metrics.backfill_series.set(r.series as i64);
            metrics.backfill_queries.inc_by(r.queries);
            tracing::info!(
                queries = r.queries,
                series = r.series,
                stored = r.stored,
                skipped = r.skipped,
                "backfill done"
            );
            release_free_memory();
            crate::memory::shed_start_up_code();
            let _ = wake.send(forecast_loop::Wake::Now);
        }
        Err(e) => {
            tracing::error!(error = %e, "backfill failed; forecasts will wait for local history")
        }
    }
}

/// Pets the systemd watchdog only while the collection loop is alive, so a hung
/// loop gets the service restarted instead of serving stale metrics forever.
async fn watchdog(period: Duration, heartbeat: Arc<AtomicI64>, interval: Duration) {
    let stale_after = (interval * 3).max(period).as_millis() as i64;
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tick.tick().await;
        if now_ms() - heartbeat.load(Ordering::Acquire) <= stale_after {
            notify::notify("WATCHDOG=1");
        } else {
            tracing::warn!("collection loop stalled; withholding the watchdog ping");
        }
    }
}
