//! A Ballista cluster from this binary (the `ballista` cargo feature): `shoplens cluster
//! scheduler` plans the queries that `--engine ballista://…` sends and hands their tasks to the
//! executors; `shoplens cluster executor` runs tasks, reading the warehouse's Parquet files from
//! the same path as the scheduler and the client (a shared filesystem), and keeps the shuffle
//! files of its stages in a work folder of its own.
//!
//! Both run until the process is stopped. An executor sends a heartbeat every few seconds and
//! the scheduler gives up on one that has been silent for `executor_timeout`.
//!
//! A lost executor fails the jobs that were running, which the client reports as an error.
//! Ballista's own recovery (rerunning the lost tasks and the stages whose shuffle output the
//! executor held) returned wrong totals here: in the scenario of `tests/ballista.rs`'s kill
//! test, two of three KPI suites came back with orders counted twice and exit code 0. An error
//! can be retried; a wrong number is believed. So the scheduler retries nothing: a failed task or an unreadable
//! shuffle fails its job at once, and [`FailJobsOnLoss`] cancels the running jobs when an
//! executor is removed.

use crate::model::MemoryLimit;
use ballista_core::JobId;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{CancelJobParams, ExecutorHeartbeat, JobStatus, job_status};
use ballista_core::serde::protobuf::{RuntimeStatsReport, ShuffleWritePartition, TaskColumnStats, WindowStateReport};
use ballista_core::serde::scheduler::{ExecutorData, ExecutorMetadata};
use ballista_executor::execution_engine::{DefaultExecutionEngine, ExecutionEngine, QueryStageExecutor};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::memory::InMemoryClusterState;
use ballista_scheduler::cluster::{
    BallistaCluster, BoundTask, ClusterState, ClusterStateEventStream, ExecutorSlot, JobState,
};
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::config::TaskDistributionPolicy;
use ballista_scheduler::scheduler_process::start_server;
use ballista_scheduler::state::task_manager::JobInfoCache;
use datafusion::error::DataFusionError;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricsSet;
use datafusion::prelude::SessionConfig;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A cluster process failed to start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[error("{role}: {source}")]
pub(crate) struct ClusterError {
    /// `scheduler` or `executor`.
    pub(crate) role: &'static str,
    /// Ballista's error.
    pub source: ballista_core::error::BallistaError,
}

/// How a scheduler runs.
#[derive(Clone, Debug)]
pub(crate) struct SchedulerOptions {
    /// The address its gRPC service listens on.
    pub bind: SocketAddr,
    /// How long an executor may be silent before it counts as lost (and the jobs that were
    /// running fail).
    pub(crate) executor_timeout: Duration,
}

/// Runs a scheduler until the process stops.
///
/// # Errors
/// The address cannot be bound, or the service fails.
pub(crate) async fn run_scheduler(options: SchedulerOptions) -> Result<(), ClusterError> {
    let wrap = |source| ClusterError { role: "scheduler", source };
    let timeout = options.executor_timeout.as_secs().max(2);
    let config = SchedulerConfig {
        bind_host: options.bind.ip().to_string(),
        bind_port: options.bind.port(),
        executor_timeout_seconds: timeout,
        // look for silent executors often enough that the timeout is what decides
        expire_dead_executor_interval_seconds: (timeout / 4).max(1),
        no_executors_grace_period_seconds: timeout,
        // executors ask for tasks: under push scheduling, the jobs a lost executor had been
        // given were never handed to the others and waited forever
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        // a failed task or a lost shuffle fails the job rather than being retried (see below)
        task_max_failures: 1,
        stage_max_failures: 1,
        ..SchedulerConfig::default()
    };
    let jobs: Arc<dyn JobState> = BallistaCluster::new_from_config(&config).await.map_err(wrap)?.job_state();
    let ip = options.bind.ip();
    let own = if ip.is_unspecified() { std::net::IpAddr::from([127, 0, 0, 1]) } else { ip };
    let cluster_state = FailJobsOnLoss {
        inner: InMemoryClusterState::default(),
        jobs: jobs.clone(),
        scheduler: format!("http://{}", SocketAddr::new(own, options.bind.port())),
    };
    let cluster = BallistaCluster::new(Arc::new(cluster_state), jobs);
    start_server(cluster, options.bind, Arc::new(config)).await.map_err(wrap)
}

/// How an executor runs.
#[derive(Clone, Debug)]
pub(crate) struct ExecutorOptions {
    /// The scheduler's host.
    pub(crate) scheduler_host: String,
    /// The scheduler's port.
    pub(crate) scheduler_port: u16,
    /// The address its Arrow Flight service (which serves shuffle files) listens on.
    pub bind: SocketAddr,
    /// The port of its gRPC service (which receives tasks).
    pub(crate) grpc_port: u16,
    /// The host name the others reach it by, when not the bound address.
    pub(crate) external_host: Option<String>,
    /// How many tasks it runs at once (0: one per core).
    pub concurrency: usize,
    /// Memory its tasks share (each gets an equal part); what does not fit spills.
    pub memory: MemoryLimit,
    /// Where it keeps shuffle files (default: a new temporary folder).
    pub(crate) work_dir: Option<PathBuf>,
    /// How often it tells the scheduler it is alive.
    pub heartbeat: Duration,
}

/// Runs an executor until the process stops.
///
/// # Errors
/// The addresses cannot be bound, the scheduler cannot be reached, or the service fails.
pub(crate) async fn run_executor(options: ExecutorOptions) -> Result<(), ClusterError> {
    let wrap = |source| ClusterError { role: "executor", source };
    let work_dir = match options.work_dir {
        Some(dir) => dir,
        None => std::env::temp_dir().join(format!("shoplens-executor-{}", std::process::id())),
    };
    std::fs::create_dir_all(&work_dir).map_err(|e| wrap(e.into()))?;
    let config = ExecutorProcessConfig {
        bind_host: options.bind.ip().to_string(),
        port: options.bind.port(),
        grpc_port: options.grpc_port,
        external_host: options.external_host,
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        // keep trying while the scheduler starts
        scheduler_connect_timeout_seconds: 30,
        vcores: options.concurrency,
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        work_dir: Some(work_dir.to_string_lossy().into_owned()),
        memory_pool_size: Some(options.memory.bytes() as u64),
        executor_heartbeat_interval_seconds: options.heartbeat.as_secs().max(1),
        print_thread_info: false,
        // shuffle files of finished jobs go after an hour
        job_data_ttl_seconds: 3600,
        job_data_clean_up_interval_seconds: 600,
        // every function a local session knows: Ballista's default registry lacks the nested
        // ones (`generate_series`, which the monthly KPI calls)
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(
            &SessionStateBuilder::new().with_default_features().build(),
        ))),
        // (without the pool of shuffle connections Ballista's own engine would have: its type is
        // private; each shuffle fetch opens a connection of its own, as with `client_ttl` 0)
        override_execution_engine: Some(Arc::new(WithoutOperatorMetrics(Arc::new(DefaultExecutionEngine::new())))),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await.map_err(wrap)
}

/// Ballista's execution engine, reporting no per-operator metrics with a finished task.
///
/// Ballista 55 sizes a stage's metrics by its first finished task and rejects the status of a
/// later task that reports a different number of operators, which the tasks of a stage whose
/// `UNION ALL` has a constant branch do (only an executed operator has metrics). The rejected
/// task never counts as finished and the job waits forever. The scheduler takes a task without
/// metrics as it is, so the jobs finish; what is lost is the per-operator breakdown of a
/// distributed `EXPLAIN ANALYZE`.
struct WithoutOperatorMetrics(Arc<dyn ExecutionEngine>);

impl ExecutionEngine for WithoutOperatorMetrics {
    fn create_query_stage_exec(
        &self,
        job_id: JobId,
        stage_id: usize,
        task_id: usize,
        global_output_partition_ids: Vec<usize>,
        plan: Arc<dyn ExecutionPlan>,
        work_dir: &str,
        config: &SessionConfig,
    ) -> Result<Arc<dyn QueryStageExecutor>, DataFusionError> {
        let inner = self.0.create_query_stage_exec(
            job_id,
            stage_id,
            task_id,
            global_output_partition_ids,
            plan,
            work_dir,
            config,
        )?;
        Ok(Arc::new(StageWithoutMetrics(inner)))
    }
}

/// One task's stage, as [`WithoutOperatorMetrics`] runs it.
#[derive(Debug)]
struct StageWithoutMetrics(Arc<dyn QueryStageExecutor>);

impl std::fmt::Display for StageWithoutMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[async_trait::async_trait]
impl QueryStageExecutor for StageWithoutMetrics {
    async fn execute_query_stage(
        &self,
        task_id: usize,
        context: Arc<TaskContext>,
    ) -> Result<Vec<ShuffleWritePartition>, DataFusionError> {
        self.0.execute_query_stage(task_id, context).await
    }

    fn collect_plan_metrics(&self) -> Vec<MetricsSet> {
        Vec::new()
    }

    fn collect_runtime_stats_reports(&self) -> Vec<RuntimeStatsReport> {
        self.0.collect_runtime_stats_reports()
    }

    fn collect_window_state_reports(&self) -> Result<Vec<WindowStateReport>, DataFusionError> {
        self.0.collect_window_state_reports()
    }

    fn collect_column_stats(&self) -> Vec<TaskColumnStats> {
        self.0.collect_column_stats()
    }
}

/// The scheduler's record of executors (Ballista's in-memory one), which cancels every running
/// job when an executor is removed, before Ballista's recovery can rerun its work (see the
/// module's documentation).
struct FailJobsOnLoss {
    inner: InMemoryClusterState,
    jobs: Arc<dyn JobState>,
    /// This scheduler's own gRPC address, where the cancellations are sent.
    scheduler: String,
}

#[async_trait::async_trait]
impl ClusterState for FailJobsOnLoss {
    async fn init(&self) -> ballista_core::error::Result<()> {
        self.inner.init().await
    }

    async fn bind_schedulable_tasks(
        &self,
        distribution: TaskDistributionPolicy,
        active_jobs: Arc<HashMap<JobId, JobInfoCache>>,
        executors: Option<HashSet<String>>,
    ) -> ballista_core::error::Result<Vec<BoundTask>> {
        self.inner.bind_schedulable_tasks(distribution, active_jobs, executors).await
    }

    async fn unbind_tasks(&self, executor_slots: Vec<ExecutorSlot>) -> ballista_core::error::Result<()> {
        self.inner.unbind_tasks(executor_slots).await
    }

    async fn register_executor(
        &self,
        metadata: ExecutorMetadata,
        spec: ExecutorData,
    ) -> ballista_core::error::Result<()> {
        self.inner.register_executor(metadata, spec).await
    }

    async fn save_executor_metadata(&self, metadata: ExecutorMetadata) -> ballista_core::error::Result<()> {
        self.inner.save_executor_metadata(metadata).await
    }

    async fn get_executor_metadata(&self, executor_id: &str) -> ballista_core::error::Result<ExecutorMetadata> {
        self.inner.get_executor_metadata(executor_id).await
    }

    async fn registered_executor_metadata(&self) -> Vec<ExecutorMetadata> {
        self.inner.registered_executor_metadata().await
    }

    async fn save_executor_heartbeat(&self, heartbeat: ExecutorHeartbeat) -> ballista_core::error::Result<()> {
        self.inner.save_executor_heartbeat(heartbeat).await
    }

    async fn remove_executor(&self, executor_id: &str) -> ballista_core::error::Result<()> {
        self.inner.remove_executor(executor_id).await?;
        let mut jobs = Vec::new();
        for job in self.jobs.get_all_jobs().await.unwrap_or_default() {
            if let Ok(Some(JobStatus { status: Some(job_status::Status::Running(_)), .. })) =
                self.jobs.get_job_status(&job).await
            {
                jobs.push(job);
            }
        }
        if jobs.is_empty() {
            return Ok(());
        }
        tracing::warn!(executor_id, jobs = jobs.len(), "executor lost: cancelling the jobs that were running");
        // through the scheduler's own gRPC service, later: this may run inside the event loop
        // that handles the cancellations
        let scheduler = self.scheduler.clone();
        tokio::spawn(async move {
            match SchedulerGrpcClient::connect(scheduler).await {
                Ok(mut client) => {
                    for job in jobs {
                        if let Err(e) = client.cancel_job(CancelJobParams { job_id: job.to_string() }).await {
                            tracing::error!(%job, "cannot cancel the job: {e}");
                        }
                    }
                }
                Err(e) => tracing::error!("cannot cancel the jobs of a lost executor: {e}"),
            }
        });
        Ok(())
    }

    fn executor_heartbeats(&self) -> HashMap<String, ExecutorHeartbeat> {
        self.inner.executor_heartbeats()
    }

    fn get_executor_heartbeat(&self, executor_id: &str) -> Option<ExecutorHeartbeat> {
        self.inner.get_executor_heartbeat(executor_id)
    }

    async fn cluster_state_events(&self) -> ballista_core::error::Result<ClusterStateEventStream> {
        self.inner.cluster_state_events().await
    }
}
