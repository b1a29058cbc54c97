/**
 * The allow-list of built-in functions a read-only statement may call. A SQL
 * statement is read-only only when every function it calls is on this list
 * (or on its connection's `readOnlyFunctions`): a user-defined, unknown or
 * other-schema function, or a built-in with an effect, makes it a write.
 *
 * Curated by hand from `pg_catalog`, never derived from `provolatile`:
 * Postgres marks `txid_current` stable (it assigns a transaction id) and
 * `random` volatile (it has no effect). On the list: string, math, date and
 * time, JSON, array, range, text search, network and geometry functions,
 * aggregates and window functions, type-named conversions, and catalog
 * lookups. Off the list on purpose, among others: large objects (`lo_*`),
 * signals (`pg_cancel_backend`, `pg_terminate_backend`), `pg_notify`,
 * replication slots and origins, `pg_reload_conf`, `pg_stat_reset*`,
 * `set_config` and `setseed`, advisory locks, sequences (`nextval`, `setval`,
 * `currval`), anything that assigns a transaction id (`txid_current`,
 * `pg_current_xact_id`), server files (`pg_read_file`, `pg_ls_dir`,
 * `pg_stat_file`, `pg_hba_file_rules`), `pg_sleep*`, functions that run SQL
 * text (`query_to_xml`, `table_to_xml`, `ts_rewrite`, `ts_stat`), XPath over
 * agent-supplied documents, index maintenance (`brin_summarize_*`,
 * `gin_clean_pending_list`) and `binary_upgrade_*`.
 */

/** Names by family; one string per family keeps the list reviewable. */
const FAMILIES: readonly string[] = [
  // strings
  `ascii bit_length btrim char_length character_length chr concat concat_ws convert convert_from convert_to decode encode
   format initcap left length lower lpad ltrim md5 normalize is_normalized octet_length overlay parse_ident position
   quote_ident quote_literal quote_nullable regexp_count regexp_instr regexp_like regexp_match regexp_matches regexp_replace
   regexp_split_to_array regexp_split_to_table regexp_substr repeat replace reverse right rpad rtrim sha224 sha256 sha384
   sha512 split_part starts_with string_to_array string_to_table strpos substr substring textlen to_ascii to_hex translate
   unistr upper like notlike like_escape similar_escape similar_to_escape texticlike texticnlike textlike textnlike
   get_bit get_byte set_bit set_byte bit_count crc32 crc32c`,
  // math
  `abs acos acosd acosh asin asind asinh atan atan2 atan2d atand atanh cbrt ceil ceiling cos cosd cosh cot cotd degrees div
   exp factorial floor gcd lcm ln log log10 min_scale mod pi pow power radians round scale sign sin sind sinh sqrt tan tand
   tanh trim_scale trunc width_bucket random random_normal erf erfc`,
  // date and time
  `age clock_timestamp date_add date_bin date_part date_subtract date_trunc extract isfinite justify_days justify_hours
   justify_interval make_date make_interval make_time make_timestamp make_timestamptz now overlaps statement_timestamp
   timeofday timezone to_char to_date to_number to_timestamp transaction_timestamp`,
  // JSON
  `array_to_json json_agg json_agg_strict json_array_elements json_array_elements_text json_array_length json_build_array
   json_build_object json_each json_each_text json_extract_path json_extract_path_text json_object json_object_agg
   json_object_agg_strict json_object_agg_unique json_object_agg_unique_strict json_object_keys json_populate_record
   json_populate_recordset json_strip_nulls json_to_record json_to_recordset json_typeof jsonb_agg jsonb_agg_strict
   jsonb_array_elements jsonb_array_elements_text jsonb_array_length jsonb_build_array jsonb_build_object jsonb_concat
   jsonb_contained jsonb_contains jsonb_delete jsonb_delete_path jsonb_each jsonb_each_text jsonb_exists jsonb_exists_all
   jsonb_exists_any jsonb_extract_path jsonb_extract_path_text jsonb_insert jsonb_object jsonb_object_agg
   jsonb_object_agg_strict jsonb_object_agg_unique jsonb_object_agg_unique_strict jsonb_object_keys jsonb_path_exists
   jsonb_path_exists_tz jsonb_path_match jsonb_path_match_tz jsonb_path_query jsonb_path_query_array
   jsonb_path_query_array_tz jsonb_path_query_first jsonb_path_query_first_tz jsonb_path_query_tz jsonb_populate_record
   jsonb_populate_recordset jsonb_pretty jsonb_set jsonb_set_lax jsonb_strip_nulls jsonb_to_record jsonb_to_recordset
   jsonb_typeof row_to_json to_json to_jsonb json_scalar json_serialize`,
  // arrays
  `array_append array_cat array_dims array_fill array_length array_lower array_ndims array_position array_positions
   array_prepend array_remove array_replace array_sample array_shuffle array_to_string array_upper cardinality
   generate_subscripts trim_array unnest`,
  // ranges and multiranges
  `daterange datemultirange int4range int4multirange int8range int8multirange numrange nummultirange tsrange tsmultirange
   tstzrange tstzmultirange isempty lower_inc lower_inf upper_inc upper_inf range_merge multirange range_agg
   range_intersect_agg`,
  // text search
  `array_to_tsvector get_current_ts_config json_to_tsvector jsonb_to_tsvector numnode phraseto_tsquery plainto_tsquery
   querytree setweight strip to_tsquery to_tsvector ts_debug ts_delete ts_filter ts_headline ts_lexize ts_parse ts_rank
   ts_rank_cd ts_token_type tsquery_phrase tsvector_to_array websearch_to_tsquery`,
  // network and geometry
  `abbrev broadcast family host hostmask inet_merge inet_same_family masklen netmask network set_masklen macaddr8_set7bit
   trunc area bound_box center diagonal diameter height isclosed ishorizontal isopen isparallel isperp isvertical npoints
   pclose popen radius slope width`,
  // aggregates and window functions
  `any_value array_agg avg bit_and bit_or bit_xor bool_and bool_or corr count covar_pop covar_samp every max min mode
   percentile_cont percentile_disc regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy
   regr_syy stddev stddev_pop stddev_samp string_agg sum var_pop var_samp variance xmlagg cume_dist dense_rank first_value
   lag last_value lead nth_value ntile percent_rank rank row_number`,
  // set-returning and conditional helpers
  `generate_series num_nonnulls num_nulls`,
  // conversions named after types
  `bit bool bpchar char date float4 float8 inet int2 int4 int8 interval name numeric oid text time timestamp timestamptz
   timetz varbit varchar uuid money cidr macaddr macaddr8 point line lseg box path polygon circle tsvector tsquery jsonb
   json pg_lsn xid xid8 regclass regtype regproc regprocedure regoper regoperator regnamespace regrole regcollation
   regconfig regdictionary to_regclass to_regcollation to_regnamespace to_regoper to_regoperator to_regproc
   to_regprocedure to_regrole to_regtype to_regtypemod format_type pg_typeof pg_collation_for pg_size_bytes pg_size_pretty
   enum_first enum_last enum_range`,
  // who and where: the session and catalog, read only
  `current_database current_schema current_schemas current_setting current_user session_user getpgusername version
   pg_backend_pid pg_client_encoding pg_encoding_to_char pg_char_to_encoding pg_encoding_max_length getdatabaseencoding
   inet_client_addr inet_client_port inet_server_addr inet_server_port pg_conf_load_time pg_postmaster_start_time
   pg_trigger_depth pg_is_in_recovery pg_jit_available pg_my_temp_schema pg_is_other_temp_schema row_security_active
   has_any_column_privilege has_column_privilege has_database_privilege has_foreign_data_wrapper_privilege
   has_function_privilege has_language_privilege has_parameter_privilege has_schema_privilege has_sequence_privilege
   has_server_privilege has_table_privilege has_tablespace_privilege has_type_privilege pg_has_role
   pg_collation_is_visible pg_conversion_is_visible pg_function_is_visible pg_opclass_is_visible pg_operator_is_visible
   pg_opfamily_is_visible pg_statistics_obj_is_visible pg_table_is_visible pg_ts_config_is_visible pg_ts_dict_is_visible
   pg_ts_parser_is_visible pg_ts_template_is_visible pg_type_is_visible col_description obj_description shobj_description
   pg_describe_object pg_identify_object pg_identify_object_as_address pg_get_object_address pg_get_constraintdef
   pg_get_expr pg_get_function_arg_default pg_get_function_arguments pg_get_function_identity_arguments
   pg_get_function_result pg_get_function_sqlbody pg_get_functiondef pg_get_indexdef pg_get_keywords
   pg_get_partition_constraintdef pg_get_partkeydef pg_get_ruledef pg_get_serial_sequence pg_get_statisticsobjdef
   pg_get_triggerdef pg_get_userbyid pg_get_viewdef pg_index_column_has_property pg_index_has_property
   pg_indexam_has_property pg_partition_ancestors pg_partition_root pg_partition_tree pg_relation_is_updatable
   pg_column_is_updatable pg_column_size pg_column_compression pg_relation_size pg_table_size pg_indexes_size
   pg_total_relation_size pg_database_size pg_tablespace_size pg_options_to_table pg_get_catalog_foreign_keys aclexplode
   acldefault aclcontains makeaclitem pg_timezone_abbrevs pg_timezone_names nameconcatoid`,
  // table sampling methods (TABLESAMPLE BERNOULLI / SYSTEM)
  `bernoulli system`,
];

/**
 * Schema-qualified names (`pg_catalog.lower`) of the built-ins known to be
 * free of effects. Overloads share their name: every `pg_catalog.lower` is
 * on the list or none is.
 *
 * @example
 * READ_ONLY_FUNCTIONS.has('pg_catalog.lower');     // true
 * READ_ONLY_FUNCTIONS.has('pg_catalog.lo_unlink'); // false
 */
export const READ_ONLY_FUNCTIONS: ReadonlySet<string> = new Set(
  FAMILIES.flatMap((family) => family.split(/\s+/).filter(Boolean)).map((name) => `pg_catalog.${name}`),
);

/**
 * SQL/JSON syntax (PostgreSQL 16+: `JSON_SCALAR(…)`, `JSON_TABLE(…)`, …) that
 * the parser builds in rather than calling a function; policy sees each as
 * `pg_catalog.<name>`. These compute values and nothing else. They are not
 * functions of pg_proc, so they are kept apart from the list above.
 */
export const READ_ONLY_SYNTAX: ReadonlySet<string> = new Set(
  ['json', 'json_array', 'json_arrayagg', 'json_object', 'json_objectagg', 'json_scalar', 'json_serialize', 'json_query', 'json_value', 'json_exists', 'json_table'].map(
    (name) => `pg_catalog.${name}`,
  ),
);
