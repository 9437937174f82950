//! Sandgate's databases: SQLite (embedded, the default) or PostgreSQL (several hosts), behind the
//! small part of rusqlite's API the control-plane store and the emulator's state use, so that
//! their SQL reads the same whatever the engine. SQL is written once, in the dialect both speak; for PostgreSQL the `?N`
//! placeholders become `$N`.
//!
//! PostgreSQL is driven by `tokio-postgres` on a runtime of its own: a call sends the work there
//! and waits, so the store stays a blocking API callable from any thread (the blocking pool, a
//! plain thread, or an emulator hook running on a request's worker) exactly as with SQLite.
//! Written by hand because neither driver offers one interface over both engines with blocking
//! calls that are safe inside an async runtime.

pub mod testing;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What a database call returns.
pub type Result<T> = std::result::Result<T, Error>;

/// Why a database call failed.
#[derive(Debug)]
pub enum Error {
    /// SQLite said so.
    Sqlite(rusqlite::Error),
    /// PostgreSQL said so (or the connection is gone).
    Postgres(tokio_postgres::Error),
    /// A single row was asked for and there is none.
    NoRow,
    /// A column could not be read as the type asked for.
    Decode(String),
    /// PostgreSQL did not answer in time.
    Timeout,
    /// The PostgreSQL connection was lost inside a transaction: the transaction is gone (nothing
    /// of it was committed); the next call connects again.
    Lost,
    /// PostgreSQL could not be reached a moment ago; calls fail at once until the next attempt
    /// to connect (back-off), instead of each waiting for a connection that will not come.
    Down,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Sqlite(e) => write!(f, "{e}"),
            Error::Postgres(e) => match e.as_db_error() {
                Some(db) => write!(f, "PostgreSQL: {} ({})", db.message(), db.code().code()),
                None => write!(f, "PostgreSQL: {e}"),
            },
            Error::NoRow => f.write_str("no row"),
            Error::Decode(what) => write!(f, "cannot read column: {what}"),
            Error::Timeout => f.write_str("PostgreSQL did not answer in time"),
            Error::Lost => {
                f.write_str("the PostgreSQL connection was lost inside a transaction, which was not committed")
            }
            Error::Down => f.write_str("PostgreSQL cannot be reached; connecting again shortly"),
        }
    }
}

impl Error {
    /// Whether the database could not be reached (a lost or refused connection, no answer).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Error::Timeout | Error::Lost | Error::Down => true,
            Error::Postgres(e) => e.is_closed() || e.as_db_error().is_none(),
            _ => false,
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Sqlite(e) => Some(e),
            Error::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        match e {
            rusqlite::Error::QueryReturnedNoRows => Error::NoRow,
            e => Error::Sqlite(e),
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Error {
        Error::Postgres(e)
    }
}

/// `.optional()` on a single-row result, as rusqlite's.
pub trait OptionalExtension<T> {
    /// `Ok(None)` when there was no row.
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(value) => Ok(Some(value)),
            Err(Error::NoRow) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// What a value is, so that PostgreSQL is told each parameter's type (it cannot infer one from
/// `? IS NULL`) and a NULL has the type of its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A 64-bit integer.
    Int,
    /// A double.
    Real,
    /// Text.
    Text,
    /// Bytes.
    Blob,
}

/// One bound value, owned so it can travel to PostgreSQL's runtime.
#[derive(Debug, Clone)]
pub enum Value {
    /// NULL in a column of this kind.
    Null(Kind),
    /// An integer.
    Int(i64),
    /// A double.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> Kind {
        match self {
            Value::Null(kind) => *kind,
            Value::Int(_) => Kind::Int,
            Value::Real(_) => Kind::Real,
            Value::Text(_) => Kind::Text,
            Value::Blob(_) => Kind::Blob,
        }
    }
}

/// The kind of a type's values (for its NULL).
pub trait HasKind {
    /// The kind.
    const KIND: Kind;
}

/// A value that can be bound to a placeholder.
pub trait Param {
    /// The value to bind.
    fn value(&self) -> Value;
}

macro_rules! int_param {
    ($($t:ty),*) => {$(
        impl Param for $t {
            fn value(&self) -> Value {
                Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
            }
        }
        impl HasKind for $t {
            const KIND: Kind = Kind::Int;
        }
    )*};
}
int_param!(i64, i32, u32, u16, u64, usize);

macro_rules! has_kind {
    ($($t:ty => $kind:ident),*) => {$(
        impl HasKind for $t {
            const KIND: Kind = Kind::$kind;
        }
    )*};
}
has_kind!(bool => Int, f64 => Real, str => Text, String => Text, [u8] => Blob, Vec<u8> => Blob);
impl<const N: usize> HasKind for [u8; N] {
    const KIND: Kind = Kind::Blob;
}
impl<T: HasKind + ?Sized> HasKind for &T {
    const KIND: Kind = T::KIND;
}

impl Param for bool {
    fn value(&self) -> Value {
        Value::Int(i64::from(*self))
    }
}
impl Param for f64 {
    fn value(&self) -> Value {
        Value::Real(*self)
    }
}
impl Param for str {
    fn value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}
impl Param for String {
    fn value(&self) -> Value {
        Value::Text(self.clone())
    }
}
impl Param for [u8] {
    fn value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl Param for Vec<u8> {
    fn value(&self) -> Value {
        Value::Blob(self.clone())
    }
}
impl<const N: usize> Param for [u8; N] {
    fn value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}
impl<T: Param + ?Sized> Param for &T {
    fn value(&self) -> Value {
        (**self).value()
    }
}
impl<T: Param + HasKind> Param for Option<T> {
    fn value(&self) -> Value {
        self.as_ref().map_or(Value::Null(T::KIND), Param::value)
    }
}

/// The values of one statement, as `params![…]` builds them.
pub trait Params {
    /// The values, in placeholder order.
    fn values(self) -> Vec<Value>;
}

impl<const N: usize> Params for [&dyn Param; N] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.value()).collect()
    }
}

/// A list built at run time (a statement whose number of conditions varies).
impl Params for &[&dyn Param] {
    fn values(self) -> Vec<Value> {
        self.iter().map(|p| p.value()).collect()
    }
}

/// `params![a, b]`: the values of a statement, as rusqlite's macro.
#[macro_export]
macro_rules! params {
    () => { [] as [&dyn $crate::Param; 0] };
    ($($param:expr),+ $(,)?) => { [$(&$param as &dyn $crate::Param),+] };
}

/// A column type that can be read from a row.
pub trait FromColumn: Sized {
    /// From SQLite.
    fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self>;
    /// From PostgreSQL.
    fn postgres(row: &tokio_postgres::Row, index: usize) -> Result<Self>;
}

fn decode(index: usize, e: impl fmt::Display) -> Error {
    Error::Decode(format!("column {index}: {e}"))
}

/// Integers: PostgreSQL may answer `int8`, `int4` (`length()`) or `bool` (a comparison).
fn pg_int(row: &tokio_postgres::Row, index: usize) -> Result<Option<i64>> {
    if let Ok(value) = row.try_get::<_, Option<i64>>(index) {
        return Ok(value);
    }
    if let Ok(value) = row.try_get::<_, Option<i32>>(index) {
        return Ok(value.map(i64::from));
    }
    row.try_get::<_, Option<bool>>(index).map(|v| v.map(i64::from)).map_err(|e| decode(index, e))
}

/// `FromColumn` for `$t`: SQLite reads it itself; PostgreSQL by `$pg`.
macro_rules! column {
    ($($t:ty => |$row:ident, $index:ident| $pg:expr;)*) => {$(
        impl FromColumn for $t {
            fn sqlite(row: &rusqlite::Row<'_>, index: usize) -> Result<Self> {
                Ok(row.get(index)?)
            }
            fn postgres($row: &tokio_postgres::Row, $index: usize) -> Result<Self> {
                $pg
            }
        }
    )*};
}

/// An integer that must be there, as `T`.
fn pg_required<T: TryFrom<i64>>(row: &tokio_postgres::Row, index: usize) -> Result<T>
where
    T::Error: fmt::Display,
{
    let value = pg_int(row, index)?.ok_or_else(|| decode(index, "NULL"))?;
    T::try_from(value).map_err(|e| decode(index, e))
}

/// An integer or NULL, as `T`.
fn pg_optional<T: TryFrom<i64>>(row: &tokio_postgres::Row, index: usize) -> Result<Option<T>>
where
    T::Error: fmt::Display,
{
    pg_int(row, index)?.map(|v| T::try_from(v).map_err(|e| decode(index, e))).transpose()
}

column! {
    i64 => |row, index| pg_required(row, index);
    i32 => |row, index| pg_required(row, index);
    u32 => |row, index| pg_required(row, index);
    Option<i64> => |row, index| pg_optional(row, index);
    Option<i32> => |row, index| pg_optional(row, index);
    Option<u32> => |row, index| pg_optional(row, index);
    bool => |row, index| Ok(pg_required::<i64>(row, index)? != 0);
    String => |row, index| row.try_get(index).map_err(|e| decode(index, e));
    Option<String> => |row, index| row.try_get(index).map_err(|e| decode(index, e));
    Vec<u8> => |row, index| row.try_get(index).map_err(|e| decode(index, e));
    Option<Vec<u8>> => |row, index| row.try_get(index).map_err(|e| decode(index, e));
    f64 => |row, index| row.try_get(index).map_err(|e| decode(index, e));
    Option<f64> => |row, index| row.try_get(index).map_err(|e| decode(index, e));
}

/// A column index (rusqlite's `get::<_, T>(i)` shape).
pub trait ColumnIndex {
    /// The zero-based index.
    fn index(self) -> usize;
}
impl ColumnIndex for usize {
    fn index(self) -> usize {
        self
    }
}

/// One result row.
pub enum Row<'a> {
    /// A row from SQLite.
    Sqlite(&'a rusqlite::Row<'a>),
    /// A row from PostgreSQL.
    Postgres(&'a tokio_postgres::Row),
}

impl Row<'_> {
    /// Column `index` as `T`.
    pub fn get<I: ColumnIndex, T: FromColumn>(&self, index: I) -> Result<T> {
        match self {
            Row::Sqlite(row) => T::sqlite(row, index.index()),
            Row::Postgres(row) => T::postgres(row, index.index()),
        }
    }
}

/// How a transaction starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionBehavior {
    /// Takes the write lock at once (SQLite `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock that
    /// serialises writers of every node, as SQLite's lock does).
    Immediate,
    /// Reads one snapshot.
    Deferred,
    /// One unit of work that locks only the rows it touches (SQLite `BEGIN IMMEDIATE`, its only
    /// way to write; PostgreSQL `BEGIN`, read committed: a concurrent writer of the same row
    /// waits, then sees the row as committed).
    RowLocks,
}

/// The advisory lock every PostgreSQL write transaction takes.
/// (Public so a test can hold it as another node would.)
pub const WRITE_LOCK: i64 = 0x005a_4e6a_4741_5445;

/// A connection to either engine.
pub enum Connection {
    /// An SQLite file.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL server.
    Postgres(Postgres),
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Connection::Sqlite(_) => "Connection(SQLite)",
            Connection::Postgres(_) => "Connection(PostgreSQL)",
        })
    }
}

/// Prepared statements by SQL and parameter kinds.
type StatementCache = std::sync::Mutex<std::collections::HashMap<(String, Vec<Kind>), tokio_postgres::Statement>>;

/// A PostgreSQL client and the runtime that drives it. A lost connection is opened again on the
/// next call outside a transaction (never inside one: its first statements would be gone and the
/// rest would run on their own).
pub struct Postgres {
    url: String,
    client: std::sync::Mutex<Arc<tokio_postgres::Client>>,
    runtime: Option<tokio::runtime::Runtime>,
    statements: Arc<StatementCache>,
    in_transaction: std::sync::atomic::AtomicBool,
    /// While PostgreSQL cannot be reached: when to try again, and the wait after that one.
    backoff: std::sync::Mutex<Option<(std::time::Instant, Duration)>>,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// The first wait before connecting again after a failed attempt, and the longest.
const RECONNECT_FIRST: Duration = Duration::from_millis(100);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Longest a connection attempt may take unless the URL says (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Longest a PostgreSQL call may take.
const PG_TIMEOUT: Duration = Duration::from_secs(30);

impl Postgres {
    /// Connects to `url` (a `postgres://` URL).
    pub fn connect(url: &str) -> Result<Postgres> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sandgate-postgres")
            .enable_all()
            .build()
            .map_err(|e| Error::Decode(format!("cannot start the PostgreSQL runtime: {e}")))?;
        let client = Postgres::open(&runtime, url)?;
        Ok(Postgres {
            url: url.to_owned(),
            client: std::sync::Mutex::new(Arc::new(client)),
            runtime: Some(runtime),
            statements: Arc::default(),
            in_transaction: Default::default(),
            backoff: std::sync::Mutex::new(None),
        })
    }

    fn open(runtime: &tokio::runtime::Runtime, url: &str) -> Result<tokio_postgres::Client> {
        let mut config: tokio_postgres::Config = url.parse()?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT); // an unreachable host fails fast, not in minutes
        }
        let (client, connection) = run_on(runtime, async move { config.connect(tokio_postgres::NoTls).await })??;
        runtime.spawn(async move {
            if let Err(e) = connection.await {
                tracing::error!(error = %e, "the PostgreSQL connection ended");
            }
        });
        Ok(client)
    }

    /// The live client, connecting again when the connection was lost (outside a transaction).
    fn client(&self, runtime: &tokio::runtime::Runtime) -> Result<Arc<tokio_postgres::Client>> {
        let mut current = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if current.is_closed() {
            if self.in_transaction.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(Error::Lost);
            }
            let mut backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
            if backoff.is_some_and(|(next, _)| std::time::Instant::now() < next) {
                return Err(Error::Down);
            }
            tracing::warn!("the PostgreSQL connection was lost; connecting again");
            match Postgres::open(runtime, &self.url) {
                Ok(client) => {
                    if backoff.take().is_some() {
                        tracing::info!("PostgreSQL is back");
                    }
                    *current = Arc::new(client);
                }
                Err(e) => {
                    // 100 ms, doubling to 5 s: a server that is restarting is found within
                    // moments, one that is gone is not hammered by every request.
                    let wait = backoff.map_or(RECONNECT_FIRST, |(_, wait)| (wait * 2).min(RECONNECT_MAX));
                    tracing::error!(error = %e, retry_in_ms = wait.as_millis() as u64, "cannot reach PostgreSQL");
                    *backoff = Some((std::time::Instant::now() + wait, wait));
                    return Err(e);
                }
            }
            // Prepared statements belonged to the old connection.
            self.statements.lock().unwrap_or_else(|p| p.into_inner()).clear();
        }
        Ok(Arc::clone(&current))
    }

    /// `sql` prepared with the types of `values`, from the cache when it was prepared before.
    async fn prepare(
        client: &tokio_postgres::Client,
        cache: &StatementCache,
        sql: String,
        values: &[Value],
    ) -> Result<tokio_postgres::Statement> {
        let kinds: Vec<Kind> = values.iter().map(Value::kind).collect();
        let key = (sql, kinds);
        if let Some(statement) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(statement.clone());
        }
        let types: Vec<tokio_postgres::types::Type> = key.1.iter().map(|kind| pg_type(*kind)).collect();
        let statement = client.prepare_typed(&key.0, &types).await?;
        cache.lock().unwrap_or_else(|p| p.into_inner()).insert(key, statement.clone());
        Ok(statement)
    }

    fn call<T: Send + 'static, F>(&self, work: impl FnOnce(Arc<tokio_postgres::Client>) -> F) -> Result<T>
    where
        F: std::future::Future<Output = Result<T>> + Send + 'static,
    {
        let Some(runtime) = &self.runtime else { return Err(Error::Timeout) };
        let client = self.client(runtime)?;
        run_on(runtime, work(client))?
    }

    fn query(&self, sql: &str, values: Vec<Value>) -> Result<Vec<tokio_postgres::Row>> {
        self.run(sql, values, true).map(|(rows, _)| rows)
    }

    fn execute(&self, sql: &str, values: Vec<Value>) -> Result<usize> {
        self.run(sql, values, false).map(|(_, changed)| usize::try_from(changed).unwrap_or(usize::MAX))
    }

    /// Runs one statement: its rows when `rows`, else how many rows it changed.
    fn run(&self, sql: &str, values: Vec<Value>, rows: bool) -> Result<(Vec<tokio_postgres::Row>, u64)> {
        let (sql, cache) = (placeholders(sql), Arc::clone(&self.statements));
        self.call(move |client| async move {
            let statement = Postgres::prepare(&client, &cache, sql, &values).await?;
            let params = pg_params(&values);
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
            Ok(match rows {
                true => (client.query(&statement, &refs).await?, 0),
                false => (Vec::new(), client.execute(&statement, &refs).await?),
            })
        })
    }

    fn batch(&self, sql: &str) -> Result<()> {
        let sql = sql.to_owned();
        self.call(move |client| async move { Ok(client.batch_execute(&sql).await?) })
    }
}

/// Runs `work` on `runtime` and waits for it from any thread.
fn run_on<T: Send + 'static>(
    runtime: &tokio::runtime::Runtime,
    work: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime.spawn(async move {
        let _ = tx.send(work.await);
    });
    rx.recv_timeout(PG_TIMEOUT).map_err(|_| Error::Timeout)
}

/// A NULL PostgreSQL accepts for a parameter of any type.
#[derive(Debug)]
struct AnyNull;

impl tokio_postgres::types::ToSql for AnyNull {
    fn to_sql(
        &self,
        _ty: &tokio_postgres::types::Type,
        _out: &mut bytes::BytesMut,
    ) -> std::result::Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        Ok(tokio_postgres::types::IsNull::Yes)
    }

    fn accepts(_ty: &tokio_postgres::types::Type) -> bool {
        true
    }

    tokio_postgres::types::to_sql_checked!();
}

fn pg_type(kind: Kind) -> tokio_postgres::types::Type {
    match kind {
        Kind::Int => tokio_postgres::types::Type::INT8,
        Kind::Real => tokio_postgres::types::Type::FLOAT8,
        Kind::Text => tokio_postgres::types::Type::TEXT,
        Kind::Blob => tokio_postgres::types::Type::BYTEA,
    }
}

fn pg_params(values: &[Value]) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> {
    values
        .iter()
        .map(|value| -> Box<dyn tokio_postgres::types::ToSql + Sync + Send> {
            match value {
                Value::Null(_) => Box::new(AnyNull),
                Value::Int(v) => Box::new(*v),
                Value::Real(v) => Box::new(*v),
                Value::Text(v) => Box::new(v.clone()),
                Value::Blob(v) => Box::new(v.clone()),
            }
        })
        .collect()
}

/// A schema written for SQLite in PostgreSQL's types: 64-bit integers (what SQLite's are),
/// `BYTEA` for blobs, a sequence for the one autoincrement key.
pub fn postgres_dialect(sql: &str) -> String {
    sql.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
        .replace("INTEGER", "BIGINT")
        .replace("BLOB", "BYTEA")
}

/// SQLite's `?N` and `?` placeholders as PostgreSQL's `$N` (outside string literals).
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let (mut in_string, mut next) = (false, 1);
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_string = !in_string;
                out.push(c);
            }
            '?' if !in_string => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                if digits.is_empty() {
                    digits = next.to_string();
                    next += 1;
                }
                out.push('$');
                out.push_str(&digits);
            }
            _ => out.push(c),
        }
    }
    out
}

fn sqlite_values(values: &[Value]) -> Vec<rusqlite::types::Value> {
    values
        .iter()
        .map(|value| match value {
            Value::Null(_) => rusqlite::types::Value::Null,
            Value::Int(v) => rusqlite::types::Value::Integer(*v),
            Value::Real(v) => rusqlite::types::Value::Real(*v),
            Value::Text(v) => rusqlite::types::Value::Text(v.clone()),
            Value::Blob(v) => rusqlite::types::Value::Blob(v.clone()),
        })
        .collect()
}

impl Connection {
    /// Runs one statement; the rows it changed.
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        let values = params.values();
        match self {
            Connection::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                Ok(statement.execute(rusqlite::params_from_iter(sqlite_values(&values)))?)
            }
            Connection::Postgres(pg) => pg.execute(sql, values),
        }
    }

    /// Runs several statements without parameters.
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match self {
            Connection::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Connection::Postgres(pg) => pg.batch(sql),
        }
    }

    /// The first row, read by `read`; [`Error::NoRow`] without one.
    pub fn query_row<T, P: Params>(&self, sql: &str, params: P, read: impl FnOnce(&Row<'_>) -> Result<T>) -> Result<T> {
        let values = params.values();
        match self {
            Connection::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(sqlite_values(&values)))?;
                match rows.next()? {
                    Some(row) => read(&Row::Sqlite(row)),
                    None => Err(Error::NoRow),
                }
            }
            Connection::Postgres(pg) => match pg.query(sql, values)?.first() {
                Some(row) => read(&Row::Postgres(row)),
                None => Err(Error::NoRow),
            },
        }
    }

    /// A statement to run with [`Statement::query_map`].
    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        Ok(Statement { conn: self, sql: sql.to_owned() })
    }

    /// [`Connection::prepare`] (SQLite caches every statement it runs here).
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        self.prepare(sql)
    }

    /// Starts a transaction.
    pub fn transaction_with_behavior(&mut self, behavior: TransactionBehavior) -> Result<Transaction<'_>> {
        Transaction::begin(self, behavior)
    }

    /// Starts a transaction through a shared reference (reads of one snapshot).
    pub fn unchecked_transaction(&self) -> Result<Transaction<'_>> {
        Transaction::begin(self, TransactionBehavior::Deferred)
    }

    /// The SQLite connection, for what only SQLite has (pragmas).
    pub fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match self {
            Connection::Sqlite(conn) => Some(conn),
            Connection::Postgres(_) => None,
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self, Connection::Postgres(_))
    }
}

/// A statement, run by [`Statement::query_map`].
pub struct Statement<'c> {
    conn: &'c Connection,
    sql: String,
}

impl Statement<'_> {
    /// Runs the statement; the rows it changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        self.conn.execute(&self.sql, params)
    }

    /// The first row, read by `read`.
    pub fn query_row<T, P: Params>(&mut self, params: P, read: impl FnOnce(&Row<'_>) -> Result<T>) -> Result<T> {
        self.conn.query_row(&self.sql, params, read)
    }

    /// Every row, read by `read`.
    pub fn query_map<T, P: Params>(
        &mut self,
        params: P,
        mut read: impl FnMut(&Row<'_>) -> Result<T>,
    ) -> Result<std::vec::IntoIter<Result<T>>> {
        let values = params.values();
        let out: Vec<Result<T>> = match self.conn {
            Connection::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(&self.sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(sqlite_values(&values)))?;
                let mut out = Vec::new();
                while let Some(row) = rows.next()? {
                    out.push(read(&Row::Sqlite(row)));
                }
                out
            }
            Connection::Postgres(pg) => {
                pg.query(&self.sql, values)?.iter().map(|row| read(&Row::Postgres(row))).collect()
            }
        };
        Ok(out.into_iter())
    }
}

/// A transaction: commits on [`Transaction::commit`], rolls back when dropped without it.
pub struct Transaction<'c> {
    conn: &'c Connection,
    open: bool,
}

impl<'c> Transaction<'c> {
    fn begin(conn: &'c Connection, behavior: TransactionBehavior) -> Result<Transaction<'c>> {
        match (conn, behavior) {
            (Connection::Sqlite(c), TransactionBehavior::Immediate | TransactionBehavior::RowLocks) => {
                c.execute_batch("BEGIN IMMEDIATE")?
            }
            (Connection::Sqlite(c), TransactionBehavior::Deferred) => c.execute_batch("BEGIN DEFERRED")?,
            (Connection::Postgres(pg), behavior) => {
                let begin = match behavior {
                    TransactionBehavior::Immediate => format!("BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK})"),
                    TransactionBehavior::Deferred => "BEGIN ISOLATION LEVEL REPEATABLE READ".to_owned(),
                    TransactionBehavior::RowLocks => "BEGIN".to_owned(),
                };
                pg.batch(&begin)?;
                pg.in_transaction.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        Ok(Transaction { conn, open: true })
    }

    /// Commits.
    pub fn commit(mut self) -> Result<()> {
        self.open = false;
        let committed = self.conn.execute_batch("COMMIT");
        self.ended();
        committed
    }

    fn ended(&self) {
        if let Connection::Postgres(pg) = self.conn {
            pg.in_transaction.store(false, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

impl std::ops::Deref for Transaction<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        self.conn
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        if self.open {
            if let Err(e) = self.conn.execute_batch("ROLLBACK") {
                tracing::error!(error = %e, "rollback failed");
            }
            self.ended();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_become_dollar_numbers_outside_literals() {
        assert_eq!(placeholders("SELECT ?1, ?2 WHERE a = '?' AND b = ?"), "SELECT $1, $2 WHERE a = '?' AND b = $1");
        assert_eq!(placeholders("UPDATE t SET x = ?, y = ?"), "UPDATE t SET x = $1, y = $2");
    }
}
