//! The console's two languages (issue 21 item 3): English and Simplified Chinese, chosen by
//! a `lang` cookie (the switch on every page sets it) or else the browser's
//! `Accept-Language`. Every label of every page is a key of [`LABELS`]; a key missing from
//! the table is a test failure, never an untranslated page.

/// A language of the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// The language of a request: the `lang` cookie, else the first of `Accept-Language`
    /// that is English or Chinese, else English.
    pub fn of(cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = cookie.and_then(Lang::parse) {
            return l;
        }
        for part in accept_language.unwrap_or("").split(',') {
            let tag = part
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if tag.starts_with("zh") {
                return Lang::Zh;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }

    /// `en` or `zh`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The `lang` attribute of the page.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-Hans",
        }
    }

    /// The code the switch sets.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The label `key` in this language (the key itself when the table lacks it, which
    /// the tests refuse).
    pub fn t(self, key: &str) -> &'static str {
        LABELS
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, en, zh)| match self {
                Lang::En => *en,
                Lang::Zh => *zh,
            })
            .unwrap_or("?")
    }

    /// The name of an inbox task kind (`TaskKind`'s snake_case) in this language; the kind
    /// itself for one the table lacks (a test keeps the table complete).
    pub fn task(self, kind: &str) -> String {
        TASK_KINDS.iter().find(|(k, _, _)| *k == kind).map_or_else(
            || kind.to_string(),
            |(_, en, zh)| match self {
                Lang::En => (*en).to_string(),
                Lang::Zh => (*zh).to_string(),
            },
        )
    }

    /// A value the ledger writes in snake_case (a risk level, an outcome, a status, a finding
    /// or record kind) in this language; the value itself where the table has none.
    pub fn value(self, v: &str) -> String {
        VALUES.iter().find(|(k, _)| *k == v).map_or_else(
            || v.to_string(),
            |(en, zh)| match self {
                Lang::En => en.replace('_', " "),
                Lang::Zh => (*zh).to_string(),
            },
        )
    }

    /// A time in ms since the epoch as the user reads it: UTC+8 for Chinese (the agencies'
    /// time zone), UTC for English, `YYYY-MM-DD HH:MM`.
    pub fn time(self, ms: u64) -> String {
        let offset = match self {
            Lang::En => 0,
            Lang::Zh => 8 * 3_600_000,
        };
        let t = safeledger_core::Timestamp(ms + offset);
        let (y, m, d) = t.to_ymd();
        let of_day = (ms + offset) % 86_400_000;
        let zone = match self {
            Lang::En => "UTC",
            Lang::Zh => "北京时间",
        };
        format!(
            "{y:04}-{m:02}-{d:02} {:02}:{:02} {zone}",
            of_day / 3_600_000,
            of_day / 60_000 % 60
        )
    }
}

/// Every label: (key, English, Simplified Chinese).
pub const LABELS: &[(&str, &str, &str)] = &[
    ("console", "safeledger console", "安全监管链控制台"),
    ("network", "Network", "网络"),
    ("blocks", "Blocks", "区块"),
    ("enterprises", "Enterprises", "企业"),
    ("signed_as", "Signed as", "签名身份"),
    ("language", "中文", "English"),
    ("chain", "Chain", "链"),
    ("agency", "Agency", "机构"),
    ("node", "Node", "节点"),
    ("height", "Height", "高度"),
    ("round", "Round", "轮次"),
    ("peers", "Peers", "对等节点"),
    ("mempool", "Mempool", "交易池"),
    ("committed_txs", "Committed transactions", "已提交交易"),
    ("last_block", "Last block", "最新区块"),
    ("unreachable", "unreachable", "无法连接"),
    (
        "refresh_note",
        "This page refreshes every 5 seconds.",
        "本页每 5 秒自动刷新。",
    ),
    ("hash", "Hash", "哈希"),
    ("time", "Time", "时间"),
    ("transactions", "Transactions", "交易"),
    ("proposer", "Proposer", "提议者"),
    ("signers", "Commit certificate signers", "提交证书签名者"),
    ("kind", "Kind", "类型"),
    ("result", "Result", "结果"),
    ("accepted", "accepted", "已接受"),
    ("refused", "refused", "已拒绝"),
    ("search", "Search", "搜索"),
    (
        "search_hint",
        "Name, address, id, licence number or unified social credit code",
        "名称、地址、编号、许可证号或统一社会信用代码",
    ),
    ("no_hits", "No enterprise matches.", "没有匹配的企业。"),
    ("id", "Id", "编号"),
    ("name", "Name", "名称"),
    ("address", "Address", "地址"),
    ("risk", "Risk level", "风险等级"),
    ("credit", "Credit grade", "信用等级"),
    ("licences", "Licences", "许可证"),
    ("number", "Number", "编号"),
    ("type", "Type", "类别"),
    ("status", "Status", "状态"),
    ("valid_until", "Valid until", "有效期至"),
    ("timeline", "Timeline", "时间线"),
    ("date", "Date", "日期"),
    ("record", "Record", "记录"),
    ("why", "Why", "依据"),
    ("error", "Error", "错误"),
    ("not_found", "Not found", "未找到"),
    ("older", "Older", "更早"),
    ("inbox", "Inbox", "待办"),
    ("due", "Due", "期限"),
    ("what", "What", "事项"),
    ("closed_by", "Closed by", "办结方式"),
    ("no_due", "no time limit", "无期限"),
    ("audit", "Audit", "审计"),
    (
        "verify_view",
        "A view file to verify offline from genesis",
        "从创世块离线验证的视图文件",
    ),
    ("verify", "Verify", "验证"),
    ("valid", "VALID", "有效"),
    ("invalid", "INVALID", "无效"),
    (
        "forged",
        "Refused: the form did not come from this console (missing or wrong token).",
        "已拒绝:表单并非来自本控制台(令牌缺失或错误)。",
    ),
    (
        "too_large",
        "The file is larger than this console accepts",
        "文件超过本控制台的上限",
    ),
    ("submit", "Submit", "录入"),
    ("enterprise_id", "Enterprise id", "企业编号"),
    ("inspection_id", "Inspection id", "检查编号"),
    ("outcome", "Outcome", "结论"),
    ("pass", "Pass", "合格"),
    (
        "pass_with_conditions",
        "Pass with conditions",
        "限期整改后合格",
    ),
    ("fail", "Fail", "不合格"),
    ("no_verdict", "No verdict", "未作结论"),
    ("score", "Score (0–100)", "评分(0–100)"),
    (
        "hazards",
        "Hazards, one per line: CODE:SEVERITY:RECTIFY_BY:DESCRIPTION",
        "隐患,每行一项:编码:等级:整改期限:描述",
    ),
    ("follow_up_of", "Follow-up of inspection", "复查的检查编号"),
    (
        "codes",
        "Hazard codes rectified (empty: all)",
        "已整改隐患编码(空:全部)",
    ),
    ("description", "Description", "说明"),
    ("case", "Case number", "案件编号"),
    ("grade", "Grade", "等级"),
    ("minor", "Minor", "一般"),
    ("severe", "Severe", "严重"),
    ("amount_minor", "Amount (minor units, fen)", "金额(分)"),
    ("currency", "Currency", "币种"),
    ("reason", "Reason", "理由"),
    ("effective_at", "Date (empty: now)", "日期(空:现在)"),
    ("check", "Check against the rules", "按规则预检"),
    ("sign_submit", "Sign and submit", "签名并提交"),
    ("verdict", "Rules' verdict", "规则结论"),
    (
        "nothing_submitted",
        "Signed for the check only; nothing was submitted.",
        "仅为预检签名,尚未提交。",
    ),
    ("committed_at", "Committed at height", "已提交,高度"),
    ("transaction", "Transaction", "交易"),
    ("inspection", "Inspection", "检查"),
    ("rectification", "Rectification", "整改"),
    ("penalty", "Penalty", "处罚"),
    (
        "before_height",
        "on the state before height",
        "基于高度之前的状态",
    ),
    (
        "not_officer",
        "Refused: this console acts as an auditor, who reads and verifies but signs no records.",
        "已拒绝:本控制台以审计员身份运行,只能查阅和验证,不能签署记录。",
    ),
    ("record_inspection", "Record an inspection", "录入检查"),
    ("action", "Action", "操作"),
    ("answer", "Answer", "答复"),
    ("approve", "Approve", "同意"),
    ("refuse", "Refuse", "拒绝"),
    ("vote_yes", "Vote for", "赞成"),
    ("vote_no", "Vote against", "反对"),
    ("cosign", "Co-sign", "会签"),
    ("download_view", "Download a view", "下载视图"),
    (
        "reveal",
        "Fields to reveal (comma-separated; private fields need `audit view --purpose`)",
        "公开的字段(逗号分隔;私有字段需用 `audit view --purpose`)",
    ),
    ("download", "Download", "下载"),
    (
        "checkpoints",
        "Two checkpoint files, older then newer",
        "两个检查点文件,先旧后新",
    ),
    (
        "access_log",
        "Access requests and answers",
        "访问申请与答复",
    ),
    (
        "read_log",
        "Declared reads of private fields",
        "已声明的私有字段读取",
    ),
    ("effective_when", "Effective", "生效时间"),
    ("signed_by", "Signed by", "签名者"),
    ("refusals_by_rule", "Refusals by rule", "按规则统计的拒绝"),
    ("more", "More", "更多"),
    ("throughput", "Throughput", "吞吐量"),
    ("block_interval", "mean block interval", "平均出块间隔"),
    ("over_blocks", "over the last blocks:", "统计的最近区块数:"),
    ("validators", "Validators", "验证节点"),
    ("node_key", "Node key", "节点公钥"),
    ("power", "Voting power", "投票权"),
    ("evidence", "Evidence of double-signing", "双重签名证据"),
    ("no_evidence", "None recorded.", "未记录。"),
    ("linked_ids", "Linked ids", "关联编号"),
    (
        "findings",
        "Inspections, penalties and accidents",
        "检查、处罚与事故",
    ),
    (
        "hazards_open",
        "Hazards and their rectification",
        "隐患及整改",
    ),
    ("major", "major", "重大"),
    ("open", "open", "未整改"),
    ("rectified", "rectified", "已整改"),
    ("accident", "Accident", "事故"),
    ("blacklist", "Blacklist", "失信名单"),
    ("report_id", "Report number", "报告编号"),
    ("category", "Category", "类别"),
    ("deaths", "Deaths", "死亡人数"),
    ("serious_injuries", "Serious injuries", "重伤人数"),
    (
        "loss_minor",
        "Direct economic loss (minor units, fen)",
        "直接经济损失(分)",
    ),
    ("location", "Location", "地点"),
    ("level", "Level", "事故等级"),
    (
        "level_auto",
        "Classify by Order 493's bounds",
        "按国务院令第493号标准自动定级",
    ),
    ("level_general", "General", "一般事故"),
    ("level_larger", "Larger", "较大事故"),
    ("level_major", "Major", "重大事故"),
    ("level_especially_major", "Especially major", "特别重大事故"),
    ("concealed", "Found concealed (瞒报)", "经调查认定瞒报"),
    (
        "blacklist_enter",
        "List as seriously dishonest",
        "列入严重失信名单",
    ),
    ("blacklist_remove", "Remove the listing", "移出名单"),
    ("overdue", "Overdue", "已逾期"),
    ("refused_by", "refused by", "被规则拒绝:"),
    (
        "check_first",
        "The record was changed after its check, or never checked: check it against the rules again before signing.",
        "记录在预检后已被修改或尚未预检:请先重新按规则预检再签名。",
    ),
    (
        "malformed_upload",
        "The upload is not a well-formed form",
        "上传的表单格式不正确",
    ),
    ("any", "Any record (JSON)", "任意记录(JSON)"),
    (
        "record_json",
        "The record as JSON, one key naming its kind (what `tx submit --file` reads)",
        "记录的 JSON,唯一的键为记录类型(与 `tx submit --file` 相同)",
    ),
    (
        "private_fields",
        "Fields to keep private at this agency's node (comma-separated)",
        "仅保存在本机构节点的私有字段(逗号分隔)",
    ),
    ("all_kinds", "All kinds", "全部类型"),
    ("only_kind", "Only", "仅显示"),
];

/// The inbox's task kinds: (`TaskKind` in snake_case, English, Simplified Chinese).
pub const TASK_KINDS: &[(&str, &str, &str)] = &[
    ("assistance_request", "Assistance request", "协助请求"),
    ("access_request", "Access request", "访问申请"),
    ("licence_application", "Licence application", "许可申请"),
    (
        "application_acceptance",
        "Application to accept",
        "申请受理",
    ),
    ("application_resupply", "Awaiting materials", "等待补正材料"),
    ("proposal_vote", "Proposal to vote on", "待表决提案"),
    ("licence_review", "Licence review", "许可复核"),
    ("hazard_rectification", "Hazard rectification", "隐患整改"),
    ("hazard_reinspection", "Re-inspection", "整改复查"),
    ("licence_expiry", "Licence expiry", "许可到期"),
    ("decision_signature", "Decision to co-sign", "待会签决定"),
    ("routine_inspection", "Routine inspection", "例行检查"),
    ("tip_triage", "Tip-off to triage", "举报待分办"),
    ("alert_follow_up", "Alert follow-up", "预警跟进"),
];

/// Values shown on pages: (the ledger's snake_case, Simplified Chinese); English shows the
/// value with spaces.
pub const VALUES: &[(&str, &str)] = &[
    ("green", "绿色(低风险)"),
    ("yellow", "黄色(一般风险)"),
    ("orange", "橙色(较大风险)"),
    ("red", "红色(重大风险)"),
    ("pass", "合格"),
    ("pass_with_conditions", "限期整改后合格"),
    ("fail", "不合格"),
    ("no_verdict", "未作结论"),
    ("minor", "一般"),
    ("severe", "严重"),
    ("general", "一般事故"),
    ("larger", "较大事故"),
    ("major", "重大事故"),
    ("especially_major", "特别重大事故"),
    ("standing", "有效"),
    ("withdrawn", "已撤回"),
    ("overturned", "已撤销"),
    ("active", "有效"),
    ("expired", "已过期"),
    ("suspended", "暂扣"),
    ("revoked", "吊销"),
    ("denied", "不予许可"),
    ("inspection", "检查"),
    ("penalty", "处罚"),
    ("accident", "事故"),
    ("enterprise_record", "企业登记"),
    ("licence_decision", "许可决定"),
    ("inspection_record", "检查记录"),
    ("rectification_report", "整改报告"),
    ("accident_report", "事故报告"),
    ("blacklist_action", "失信名单"),
    ("assistance_request", "协助请求"),
    ("assistance_response", "协助答复"),
    ("correction", "更正"),
];
