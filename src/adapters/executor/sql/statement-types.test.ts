/**
 * Every statement node the parser (libpg-query, PostgreSQL 17's grammar) can produce has been reviewed for what a rule
 * allowing its type by name would let through: the table below is that review. A node not in it (a parser upgrade's
 * new statement) gets its own snake-cased type, which no rule allowing `create`, `alter` or `drop` matches, and still
 * counts as DDL when its name says it makes, alters or drops something. A parser upgrade fails the first test until its
 * new nodes are reviewed and added here.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countsAsDdl, statementType } from './statement-types.ts';

/** The type of each node with an empty payload (payload-dependent types are tested in facts-ddl-types.test.ts). */
const REVIEWED: Readonly<Record<string, string>> = {
  // Reads and writes of rows.
  SelectStmt: 'select', InsertStmt: 'insert', UpdateStmt: 'update', DeleteStmt: 'delete', MergeStmt: 'merge', CopyStmt: 'copy', TruncateStmt: 'truncate',
  // Schema objects of this database: what a rule allowing creates, alters or drops by type means.
  CreateStmt: 'create', CreateTableAsStmt: 'create', CreateSeqStmt: 'create', CreateSchemaStmt: 'create', CreateDomainStmt: 'create', CreateEnumStmt: 'create',
  CreateRangeStmt: 'create', CompositeTypeStmt: 'create', IndexStmt: 'create', ViewStmt: 'create', DefineStmt: 'create', RuleStmt: 'create', CreateTrigStmt: 'create',
  CreatePolicyStmt: 'create', CreateStatsStmt: 'create', CreateCastStmt: 'create', CreateConversionStmt: 'create', CreateOpClassStmt: 'create', CreateOpFamilyStmt: 'create',
  AlterTableStmt: 'alter', AlterSeqStmt: 'alter', AlterDomainStmt: 'alter', AlterEnumStmt: 'alter', AlterTypeStmt: 'alter', AlterFunctionStmt: 'alter', AlterOperatorStmt: 'alter',
  AlterOpFamilyStmt: 'alter', AlterPolicyStmt: 'alter', AlterStatsStmt: 'alter', AlterCollationStmt: 'alter', AlterTSConfigurationStmt: 'alter', AlterTSDictionaryStmt: 'alter',
  AlterObjectDependsStmt: 'alter', AlterObjectSchemaStmt: 'alter', RenameStmt: 'alter', AlterOwnerStmt: 'alter',
  CreatedbStmt: 'database', AlterDatabaseStmt: 'database', AlterDatabaseRefreshCollStmt: 'database', DropdbStmt: 'database',
  DropStmt: 'drop', DropTableSpaceStmt: 'tablespace', DropUserMappingStmt: 'foreign_data', DropSubscriptionStmt: 'subscription', CommentStmt: 'comment',
  // Reaching past what the statement names, or past the database's own objects: a rule must name each.
  DropOwnedStmt: 'drop_owned', AlterExtensionContentsStmt: 'extension_member', AlterSystemStmt: 'alter_system', AlterDatabaseSetStmt: 'alter_system',
  CreateSubscriptionStmt: 'subscription', AlterSubscriptionStmt: 'subscription', CreateExtensionStmt: 'extension', AlterExtensionStmt: 'extension',
  CreateEventTrigStmt: 'event_trigger', AlterEventTrigStmt: 'event_trigger',
  // A create in a trusted language (sql, plpgsql, plperl, pltcl); without one (this empty payload), in c, internal, … not.
  CreateFunctionStmt: 'untrusted_code', CreatePLangStmt: 'untrusted_code', CreateTransformStmt: 'untrusted_code', CreateAmStmt: 'untrusted_code',
  CreateFdwStmt: 'foreign_data', AlterFdwStmt: 'foreign_data', CreateForeignServerStmt: 'foreign_data', AlterForeignServerStmt: 'foreign_data', CreateUserMappingStmt: 'foreign_data',
  AlterUserMappingStmt: 'foreign_data', ImportForeignSchemaStmt: 'foreign_data', CreateForeignTableStmt: 'foreign_data', CreatePublicationStmt: 'publication',
  AlterPublicationStmt: 'publication', CreateTableSpaceStmt: 'tablespace', AlterTableSpaceOptionsStmt: 'tablespace', AlterTableMoveAllStmt: 'tablespace',
  // Privileges.
  GrantStmt: 'revoke', GrantRoleStmt: 'revoke', AlterDefaultPrivilegesStmt: 'grant', CreateRoleStmt: 'create_role', AlterRoleStmt: 'alter_role', AlterRoleSetStmt: 'alter_role',
  DropRoleStmt: 'drop_role', ReassignOwnedStmt: 'reassign_owned',
  // Each its own type: a rule allowing one names it.
  ExplainStmt: 'explain', VariableSetStmt: 'set', VariableShowStmt: 'show', TransactionStmt: 'transaction', CallStmt: 'call', DoStmt: 'do', PrepareStmt: 'prepare',
  ExecuteStmt: 'execute', DeallocateStmt: 'deallocate', DeclareCursorStmt: 'declare_cursor', FetchStmt: 'fetch', ClosePortalStmt: 'close_portal', ListenStmt: 'listen',
  NotifyStmt: 'notify', UnlistenStmt: 'unlisten', LockStmt: 'lock', LoadStmt: 'load', SecLabelStmt: 'sec_label', CheckPointStmt: 'check_point', DiscardStmt: 'discard',
  ConstraintsSetStmt: 'constraints_set', ClusterStmt: 'cluster', VacuumStmt: 'vacuum', ReindexStmt: 'reindex', RefreshMatViewStmt: 'refresh_mat_view',
  ReplicaIdentityStmt: 'replica_identity',
  // Parts of other statements, never one of their own.
  RawStmt: 'raw', ReturnStmt: 'return', PLAssignStmt: 'plassign', SetOperationStmt: 'set_operation',
};

/** The statement nodes of the installed parser, from the types it ships (`export interface …Stmt`). */
function parserStatementNodes(): string[] {
  const lib = dirname(createRequire(import.meta.url).resolve('libpg-query'));
  let dir = lib;
  while (!dir.endsWith('libpg-query')) dir = dirname(dir);
  const types = createRequire(join(dir, 'package.json')).resolve('@pgsql/types');
  const dts = readFileSync(join(dirname(types), 'types.d.ts'), 'utf8');
  return [...dts.matchAll(/^export interface (\w+Stmt) \{/gm)].map((m) => m[1]!).sort();
}

describe('the reviewed statement nodes', () => {
  it("covers every statement node of the installed parser, each with the reviewed type", () => {
    expect(parserStatementNodes()).toEqual(Object.keys(REVIEWED).sort());
    for (const [node, type] of Object.entries(REVIEWED)) expect(statementType(node, {}), node).toBe(type);
  });

  it('gives a node never reviewed its own type, which no rule allowing create, alter or drop matches, and still counts it as DDL', () => {
    for (const [node, type] of [['CreatePropertyGraphStmt', 'create_property_graph'], ['AlterPropertyGraphStmt', 'alter_property_graph'], ['DropPropertyGraphStmt', 'drop_property_graph']] as const) {
      expect(statementType(node, {})).toBe(type);
      expect(countsAsDdl(node, type)).toBe(true);
    }
    expect(statementType('WaitStmt', {})).toBe('wait');
    expect(countsAsDdl('WaitStmt', 'wait')).toBe(false);
    expect(countsAsDdl('CreateRoleStmt', 'create_role')).toBe(false);
    expect(countsAsDdl('CreateStmt', 'create')).toBe(true);
  });
});
