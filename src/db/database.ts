import type { ImportKind } from '../domain/imports/import-columns.ts';
import type { OccupantShare } from '../domain/reports/monthly-bill.ts';
import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

/**
 * The database as Kysely sees it. int8 columns are parsed to JS numbers by both drivers
 * (src/db/connect.ts): money in fen and energy in Wh stay far below 2^53.
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type Json<T> = ColumnType<T, string, string>;
type JsonDefault<T> = ColumnType<T, string | undefined, string>;

export type Purse = 'electricity' | 'water';

export interface CampusesTable {
  id: string;
  name: string;
  utc_offset_minutes: ColumnType<number, number | undefined, number>;
  settings: JsonDefault<Record<string, unknown>>;
  created_at: CreatedAt;
  /** IANA zone (e.g. Asia/Shanghai); `utc_offset_minutes` is derived from it when set. */
  time_zone: ColumnType<string | null, string | null | undefined, string | null>;
  retired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface BuildingsTable {
  id: string;
  campus_id: string;
  name: string;
  floors: ColumnType<number, number | undefined, number>;
  settings: JsonDefault<Record<string, unknown>>;
  retired_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** A tariff and its first version (in force from the beginning); later versions in `tariff_versions`. */
export interface TariffsTable {
  id: string;
  name: string;
  purse: Purse;
  definition: Json<unknown>;
  created_at: CreatedAt;
  created_by: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A revision of a tariff, in force from `effective_from` until the next (migrations/2026-11-30T1100-tariff-versions.ts). */
export interface TariffVersionsTable {
  tariff_id: string;
  version: number;
  effective_from: Timestamp;
  definition: Json<unknown>;
  created_by: string;
  created_at: CreatedAt;
}

export interface FreeQuotaPoliciesTable {
  id: string;
  name: string;
  purse: Purse;
  /** Base units per period (per occupant when basis is per-occupant). */
  allowance: number;
  basis: ColumnType<'per-dormitory' | 'per-occupant', 'per-dormitory' | 'per-occupant' | undefined, 'per-dormitory' | 'per-occupant'>;
  period: ColumnType<'month' | 'semester', 'month' | 'semester' | undefined, 'month' | 'semester'>;
}

export interface DormitoriesTable {
  id: string;
  building_id: string;
  floor: number;
  room: string;
  capacity: ColumnType<number, number | undefined, number>;
  tags: JsonDefault<string[]>;
  state: ColumnType<string, string | undefined, string>;
  electricity_tariff_id: string | null;
  water_tariff_id: string | null;
  electricity_quota_id: string | null;
  water_quota_id: string | null;
  holiday_off: ColumnType<boolean, boolean | undefined, boolean>;
  settings: JsonDefault<Record<string, unknown>>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface OccupantsTable {
  id: Generated<number>;
  student_number: string;
  name: string;
  college: string | null;
  class_name: string | null;
  phone: string | null;
  dormitory_id: string | null;
  bed: number | null;
  checked_in_at: Timestamp | null;
  checked_out_at: Timestamp | null;
  email: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: CreatedAt;
}

/** One stay of a student in a dormitory; [from_day, to_day) in local calendar days. Never deleted. */
export interface OccupanciesTable {
  id: Generated<number>;
  student_number: string;
  dormitory_id: string;
  bed: number | null;
  from_day: string;
  to_day: string | null;
  checked_in_at: Timestamp;
  checked_in_by: string;
  checked_out_at: Timestamp | null;
  checked_out_by: string | null;
  end_reason: 'check_out' | 'exchange' | 'swap' | null;
}

export type SettlementPolicy = 'per-share' | 'none';

export interface SettlementsTable {
  id: Generated<number>;
  occupancy_id: number;
  student_number: string;
  dormitory_id: string;
  purse: Purse;
  policy: SettlementPolicy;
  contributions: number;
  consumption_share: number;
  shared_credit_share: number;
  equity: number;
  direction: 'refund' | 'charge' | 'none';
  amount: number;
  ledger_entry_id: number | null;
  days: number;
  details: JsonDefault<Record<string, unknown>>;
  operator: string;
  settled_at: Timestamp;
}

export type JobKind = ImportKind;
export type JobState = 'queued' | 'running' | 'done' | 'failed';

/** A background job (an Excel batch): state, progress and row errors outlive a restart. */
export interface JobsTable {
  id: string;
  kind: JobKind;
  state: JobState;
  done: ColumnType<number, number | undefined, number>;
  total: number;
  errors: JsonDefault<{ row: number; field: string; message: string }[]>;
  summary: JsonDefault<Record<string, unknown>>;
  /** The uploaded file's name, or `filter` for a check-out by filter. */
  source: string;
  node_id: string;
  created_by: string;
  created_at: Timestamp;
  finished_at: Timestamp | null;
}

export interface AccountsTable {
  id: Generated<number>;
  dormitory_id: string;
  purse: Purse;
  balance: ColumnType<number, number | undefined, number>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface GatewaysTable {
  id: string;
  campus_id: string;
  building_id: string | null;
  protocol: 'modbus-tcp' | 'mqtt';
  address: string;
  settings: JsonDefault<Record<string, unknown>>;
  created_at: CreatedAt;
}

export interface MetersTable {
  id: string;
  dormitory_id: string;
  kind: 'electric' | 'water';
  profile: string;
  gateway_id: string;
  unit_address: string;
  created_at: CreatedAt;
}

export interface CircuitsTable {
  id: string;
  meter_id: string;
  kind: 'lighting' | 'socket' | 'ac';
  settings: JsonDefault<Record<string, unknown>>;
}

export interface BillingCursorsTable {
  meter_id: string;
  register: number;
  read_at: Timestamp;
  billing_state: Json<unknown>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** A dormitory purse's billing state: month, tier position, free quota left, carry (the room's, not a meter's). */
export interface PurseBillingStatesTable {
  dormitory_id: string;
  purse: Purse;
  billing_state: Json<unknown>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export type LedgerEntryKind = 'recharge' | 'refund' | 'consumption_charge' | 'quota_grant' | 'quota_expiry' | 'adjustment' | 'settlement';

export interface LedgerEntriesTable {
  id: Generated<number>;
  account_id: number;
  dormitory_id: string;
  purse: Purse;
  kind: LedgerEntryKind;
  amount: number;
  usage: number | null;
  balance_after: number;
  meter_id: string | null;
  reference: string | null;
  operator: string | null;
  occurred_at: Timestamp;
  created_at: CreatedAt;
  details: JsonDefault<Record<string, unknown>>;
  /** The ledger writer's name for a posting it derived from a billing record (unique where set): a retried commit skips what it finds. */
  posting_key: ColumnType<string | null, string | null | undefined, never>;
}

export interface RechargesTable {
  id: Generated<number>;
  reference: string;
  dormitory_id: string;
  purse: Purse;
  amount: number;
  method: string;
  ledger_entry_id: number | null;
  balance_after: number;
  operator: string;
  created_at: CreatedAt;
  payer_student_number: ColumnType<string | null, string | null | undefined, string | null>;
  occupancy_id: ColumnType<number | null, number | null | undefined, number | null>;
}

export type ApprovalState = 'pending' | 'approved' | 'rejected';

/** What an approval holds back: a recharge, or an office money operation. */
export type ApprovalOperation = 'recharge' | MoneyOperationKind;

export type MoneyOperationKind = 'refund' | 'adjustment';

/** `closed`: the provider closed it, or it expired unpaid (docs/payments.md). */
export type PaymentState = 'pending' | 'paid' | 'failed' | 'closed';

/** An online payment a student started at a provider (docs/payments.md). */
export interface PaymentsTable {
  id: Generated<number>;
  provider: string;
  /** The provider's out-trade-no and the recharge's reference. */
  reference: string;
  student_number: string;
  dormitory_id: string;
  purse: Purse;
  amount: number;
  state: ColumnType<PaymentState, PaymentState | undefined, PaymentState>;
  provider_transaction_id: string | null;
  recharge_id: number | null;
  created_at: Timestamp;
  completed_at: Timestamp | null;
  /** The pending-payment job: times the provider was asked, when to ask next, the last failed ask. */
  query_attempts: ColumnType<number, number | undefined, number>;
  next_query_at: Timestamp | null;
  last_query_error: string | null;
}

/** The sandbox provider's own record of what its pay page confirmed (its query answers from it). */
export interface SandboxSettlementsTable {
  reference: string;
  status: 'paid' | 'failed';
  amount: number;
  transaction_id: string;
  settled_at: Timestamp;
}

/** A signed provider notification seen once: a replay of its id credits nothing. */
export interface PaymentNotificationsTable {
  provider: string;
  notification_id: string;
  reference: string;
  received_at: Timestamp;
}

/** A refund or adjustment made by the finance office (idempotent by kind and reference). */
export interface MoneyOperationsTable {
  id: Generated<number>;
  kind: MoneyOperationKind;
  reference: string;
  dormitory_id: string;
  purse: Purse;
  /** As requested: a refund positive (its ledger entry is the negative), an adjustment signed. */
  amount: number;
  reason: string;
  operator: string;
  approved_by: string | null;
  ledger_entry_id: number | null;
  balance_after: ColumnType<number, number | undefined, number>;
  created_at: CreatedAt;
}

/** A recharge above the approval threshold, waiting for a second finance user. */
export interface RechargeApprovalsTable {
  id: Generated<number>;
  reference: string;
  dormitory_id: string;
  purse: Purse;
  /** As requested: a recharge or refund is positive, an adjustment signed. */
  amount: number;
  /** A recharge's payment method; null for refunds and adjustments. */
  method: string | null;
  /** The paying student, when the recharge names one. */
  student_id: string | null;
  operation: ColumnType<ApprovalOperation, ApprovalOperation | undefined, ApprovalOperation>;
  /** A refund's or adjustment's reason. */
  reason: ColumnType<string | null, string | null | undefined, string | null>;
  money_operation_id: ColumnType<number | null, number | null | undefined, number | null>;
  state: Generated<ApprovalState>;
  requested_by: string;
  requested_at: Date;
  decided_by: string | null;
  decided_at: Date | null;
  recharge_id: number | null;
}

export interface CommandsTable {
  id: string;
  dormitory_id: string;
  meter_id: string | null;
  target: string;
  action: 'cut' | 'restore';
  reason: string;
  state: 'requested' | 'sent' | 'confirmed' | 'failed';
  requested_by: string;
  requested_at: Timestamp;
  sent_at: Timestamp | null;
  completed_at: Timestamp | null;
  detail: string | null;
}

export interface AlarmsTable {
  id: Generated<number>;
  dormitory_id: string | null;
  meter_id: string | null;
  gateway_id: string | null;
  circuit: string | null;
  kind: string;
  severity: ColumnType<string, string | undefined, string>;
  state: ColumnType<'active' | 'released' | 'cleared', 'active' | 'released' | 'cleared' | undefined>;
  message: string;
  evidence: JsonDefault<unknown[]>;
  raised_at: Timestamp;
  released_at: Timestamp | null;
  released_by: string | null;
  /** An operator saw it (it stays active until released or cleared). */
  acknowledged_at: Timestamp | null;
  acknowledged_by: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  dormitory_id: string | null;
  meter_id: string | null;
  gateway_id: string | null;
  kind: string;
  from_state: string | null;
  to_state: string | null;
  details: JsonDefault<Record<string, unknown>>;
  occurred_at: Timestamp;
}

/** One notification for one recipient: the in-app list and the delivery outbox (docs/notifications.md). */
export interface NotificationsTable {
  id: Generated<number>;
  recipient: string;
  audience: 'student' | 'staff';
  dormitory_id: string | null;
  kind: string;
  message: string;
  details: JsonDefault<Record<string, unknown>>;
  dedupe_key: string | null;
  created_at: Timestamp;
  read_at: Timestamp | null;
  delivery_state: ColumnType<'pending' | 'delivered' | 'failed', 'pending' | 'delivered' | 'failed' | undefined>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  delivered_channels: JsonDefault<string[]>;
  delivered_at: Timestamp | null;
  last_error: string | null;
}

/** Whether a purse's days-of-credit estimate is below the alert line (one notification per crossing). */
export interface DaysLeftAlertsTable {
  dormitory_id: string;
  purse: Purse;
  below: boolean;
  days_left: number | null;
  updated_at: Timestamp;
}

export interface CalendarsTable {
  id: string;
  campus_id: string;
  name: string;
  entries: JsonDefault<unknown[]>;
}

export interface RuleSettingsTable {
  scope: 'campus' | 'building';
  scope_id: string;
  rule: string;
  config: Json<unknown>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_by: string | null;
}

export interface ApplianceSignaturesTable {
  id: Generated<number>;
  campus_id: string;
  name: string;
  min_power_w: number;
  max_power_w: number;
  min_power_factor: number;
  max_power_factor: number;
  whitelisted: ColumnType<boolean, boolean | undefined, boolean>;
}

export type Role = 'admin' | 'manager' | 'finance' | 'student';

export interface OperatorsTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
  role: Role;
  dormitory_id: string | null;
  disabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  display_name: ColumnType<string | null, string | null | undefined, string | null>;
}

export interface SessionsTable {
  token_hash: string;
  operator_id: number;
  expires_at: Timestamp;
  created_at: CreatedAt;
}

export interface AuditLogTable {
  id: Generated<number>;
  occurred_at: ColumnType<Date, Date | string | undefined, never>;
  operator: string;
  action: string;
  target_type: string;
  target_id: string;
  details: JsonDefault<Record<string, unknown>>;
}

export interface ActorSnapshotsTable {
  actor_key: string;
  state: Json<unknown>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** The rule-owned control state of one actor (migrations/2026-11-30T0100-control-state.ts). */
export interface ControlStatesTable {
  dormitory_id: string;
  actor_key: string;
  state: Json<unknown>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** An operator's manual cut of one switched output, held until a manual restore. */
export interface ManualCutsTable {
  meter_id: string;
  target: string;
  dormitory_id: string;
  operator: string;
  reason: string;
  cut_at: Timestamp;
}

export interface IntervalReadingsTable {
  meter_id: string;
  channel: string;
  interval_start: Timestamp;
  usage: number;
  max_power_w: number | null;
  register_end: number;
}

export interface GatewayLeasesTable {
  gateway_id: string;
  node_id: string;
  expires_at: Timestamp;
}

export interface LedgerDeadLettersTable {
  id: Generated<number>;
  kind: string;
  /** The item as JSON text (control characters escaped). */
  item: string;
  error: string;
  created_at: CreatedAt;
}

/** A group commit that went through, by the key its transaction claimed (src/actors/ledger-writer.ts). */
export interface LedgerCommitsTable {
  key: string;
  committed_at: CreatedAt;
}

/** A wall display's read-only credential (src/services/display-token.service.ts). */
export interface DisplayTokensTable {
  id: Generated<number>;
  name: string;
  /** `sha256$<hex>` of the token; the token itself is never stored. */
  token_hash: string;
  issued_by: string;
  issued_at: ColumnType<Date, Date | string | undefined, never>;
  revoked_at: ColumnType<Date | null, never, Date | string>;
  revoked_by: ColumnType<string | null, never, string>;
}

export interface GatewayCredentialsTable {
  gateway_id: string;
  /** `sha256$<hex>` of the secret (src/domain/gateway-secret.ts); the secret itself is never stored. */
  secret_hash: string;
  issued_by: string;
  /** Re-issuing replaces the row, so this one may be updated. */
  issued_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

/** One dormitory purse's bill for one local month (migrations/2026-11-30T1800-monthly-bills.ts; docs/reports.md). */
export interface MonthlyBillsTable {
  month: string;
  dormitory_id: string;
  purse: Purse;
  campus_id: string;
  building_id: string;
  period_from: Timestamp;
  period_to: Timestamp;
  opening: number;
  recharges: number;
  charges: number;
  refunds: number;
  adjustments: number;
  settlements: number;
  closing: number;
  usage: number;
  quota_granted: number;
  quota_used: number;
  periods: Json<BillPeriodRow[]>;
  settlement_policy: SettlementPolicy;
  shares: Json<BillShareRow[]>;
  generated_at: Timestamp;
}

/** Usage of a bill by tariff version, period or tier label, and rate. */
export interface BillPeriodRow {
  readonly label: string;
  readonly rate: number;
  readonly version: number | null;
  readonly usage: number;
}

/** An occupant's share of a bill's month (settlement per share). */
export type BillShareRow = OccupantShare & { readonly studentId: string };

/** A campus's month whose bills are all written. */
export interface BillRunsTable {
  campus_id: string;
  month: string;
  bills: number;
  completed_at: Timestamp;
}

export interface Database {
  campuses: CampusesTable;
  buildings: BuildingsTable;
  tariffs: TariffsTable;
  tariff_versions: TariffVersionsTable;
  purse_billing_states: PurseBillingStatesTable;
  free_quota_policies: FreeQuotaPoliciesTable;
  dormitories: DormitoriesTable;
  occupants: OccupantsTable;
  occupancies: OccupanciesTable;
  settlements: SettlementsTable;
  jobs: JobsTable;
  accounts: AccountsTable;
  gateways: GatewaysTable;
  meters: MetersTable;
  circuits: CircuitsTable;
  billing_cursors: BillingCursorsTable;
  ledger_entries: LedgerEntriesTable;
  recharges: RechargesTable;
  recharge_approvals: RechargeApprovalsTable;
  money_operations: MoneyOperationsTable;
  payments: PaymentsTable;
  payment_notifications: PaymentNotificationsTable;
  sandbox_settlements: SandboxSettlementsTable;
  commands: CommandsTable;
  alarms: AlarmsTable;
  events: EventsTable;
  calendars: CalendarsTable;
  rule_settings: RuleSettingsTable;
  appliance_signatures: ApplianceSignaturesTable;
  operators: OperatorsTable;
  sessions: SessionsTable;
  audit_log: AuditLogTable;
  actor_snapshots: ActorSnapshotsTable;
  interval_readings: IntervalReadingsTable;
  gateway_leases: GatewayLeasesTable;
  control_states: ControlStatesTable;
  manual_cuts: ManualCutsTable;
  ledger_dead_letters: LedgerDeadLettersTable;
  ledger_commits: LedgerCommitsTable;
  gateway_credentials: GatewayCredentialsTable;
  display_tokens: DisplayTokensTable;
  notifications: NotificationsTable;
  days_left_alerts: DaysLeftAlertsTable;
  monthly_bills: MonthlyBillsTable;
  bill_runs: BillRunsTable;
}

export type DormitoryRow = Selectable<DormitoriesTable>;
export type LedgerEntryRow = Selectable<LedgerEntriesTable>;
export type NewLedgerEntry = Insertable<LedgerEntriesTable>;
