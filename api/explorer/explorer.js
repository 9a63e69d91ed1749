// The auditors' explorer (志愿积分链 审计浏览器): one page over the /v1/audit API, no build step,
// no external resources (air-gapped networks). Routes live in the URL fragment (#/tx/0x...,
// #/record/12, ...), so every account, record, transaction, block and scheme is a link.
"use strict";

const TEXT = {
  zh: {
    title: "审计浏览器", switch: "English", search: "搜索", use_token: "使用令牌", wallet: "用钱包登录",
    signin_intro: "审计员请登录：用钱包签名，或粘贴令牌（vpl 或 API 取得）。",
    token_ph: "Bearer 令牌", search_ph: "交易哈希、区块号、地址、记录（record 12）、批次（batch 3）或积分体系代码",
    footer: "链上数据为准；索引只说明发生在哪里。",
    kind: { tx: "交易", block: "区块", address: "地址", record: "服务记录", batch: "批次", scheme: "积分体系" },
    indexed: (b, behind) => behind ? `索引至区块 ${b}，落后 ${behind} 块` : `索引至区块 ${b}（最新）`,
    loading: "加载中…", none: "没有记录", more: "更多", problems: "问题", no_problems: "未发现问题",
    latest: "最新事件", schemes: "积分体系", supply: "供应量", supply_chart: "各时段供应量",
    reconciliation: "对账", balanced: "链上与索引一致", unbalanced: "不一致",
    events: "事件", movements: "积分变动", records: "记录", people: "人员", activity: "活动",
    store: "链下详情", store_ok: "与链上一致", store_bad: "与链上不一致", store_none: "本库无此记录",
    status: "状态", volunteer: "志愿者", submitter: "提交人", reviewer: "审核人", first_reviewer: "初审人",
    service: "服务时间", points: "积分", balances: "余额", member: "成员", registrar: "登记人",
    block: "区块", time: "时间", tx: "交易", amount: "数量", from: "从", to: "到", kind_col: "类型", cause: "来源",
    issued_for: "发放依据", registered: "登记于", flows: "积分来往",
    code: "代码", name: "名称", issuer: "发行方", all_schemes: "全部积分体系", parts: (n) => `其中 ${n} 个事件`,
    days: (n) => `${n} 天`, hours: (n) => `${n} 小时`, seconds: (n) => `${n} 秒`, none_word: "无",
    status_words: { none: "未登记", active: "正常", frozen: "已冻结", recovered: "已恢复", pending: "待审核", "awaiting-second": "待复审",
      approved: "已通过", rejected: "已驳回", superseded: "已被更正", submitted: "已提交", cancelled: "已取消", confirmed: "已确认" },
    kinds: { issued: "发放", corrected: "更正", exchanged: "兑换", redemption_hold: "兑换暂扣", redemption_fulfilled: "兑换完成",
      redemption_refund: "兑换退回", timebank_hold: "时间银行暂扣", timebank_payment: "时间银行支付", timebank_refund: "时间银行退回",
      gift: "赠送", fund_donation: "基金捐赠", fund_grant: "基金拨付", expired: "过期", recovered: "账户恢复转入", minted: "新增",
      burned: "销毁", moved: "转移", held: "暂扣", hold_paid: "暂扣支付", hold_burned: "暂扣销毁", hold_returned: "暂扣退回", transfer: "转移" },
    flags: { "exchange-out": "可兑出", "exchange-in": "可兑入", gifts: "可赠送", redemption: "可兑换商品", "time-bank": "时间银行" },
    limits: { minValue: "最低价值", memberDaily: "每人每日", memberMonthly: "每人每月", schemeDailyOut: "每日兑出", schemeDailyIn: "每日兑入",
      recordsPerDay: "每日记录数", minutesPerDay: "每日分钟数", pointsPerDay: "每日积分", pointsPerWeek: "每周积分",
      approvalsPerHour: "每小时审核数", lateWorkingDays: "补录期限（工作日）" },
    s: {
      ActivityCancelled: (a) => `${a.by} 取消了活动 ${a.activityId}（原因 ${a.reason}）`,
      ActivityCreated: (a) => `${a.organiser} 在 ${a.scheme} 发布活动 ${a.activityId}：${a.start} – ${a.end}，名额 ${a.capacity}`,
      ApprovalForAll: (a) => `${a.account} ${a.approved === "true" ? "授权" : "撤销授权"} ${a.operator} 代为转移其积分`,
      ApprovalRevoked: (a) => `${a.member} 撤回对提案 ${a.proposalId} 的批准（现 ${a.approvals} 票）`,
      BalancesRecovered: (a) => `${a.previous} 的余额 ${a.amounts} 转入恢复后的账户 ${a.successor}`,
      BatchApproved: (a) => `${a.reviewer} 审核通过批次 ${a.batch}：${a.count} 条记录，${a.points} 积分`,
      BatchRecordImported: (a) => `批次 ${a.batch} 第 ${a.index} 条成为服务记录 ${a.record}`,
      BatchRejected: (a) => `${a.reviewer} 驳回批次 ${a.batch}（原因 ${a.reason}）`,
      BatchSubmitted: (a) => `${a.submitter} 提交批次 ${a.batch}（${a.count} 条记录）`,
      CouncilMemberAdded: (a) => `${a.member} 加入理事会`,
      CouncilMemberRemoved: (a) => `${a.member} 退出理事会`,
      DisputeResolved: (a) => `${a.reviewer} 裁决请求 ${a.requestId} 的争议：帮助者得 ${a.helperHours} 小时，退还 ${a.returnedHours} 小时`,
      DurationRulePublished: (a) => `${a.by} 发布 ${a.scheme} 时长规则第 ${a.version} 版：每小时 ${a.pointsPerHour} 积分`,
      EIP712DomainChanged: () => `转发合约的签名域已更改`,
      ExchangeLimitsChanged: (a) => `${a.scheme} 的兑换限额设为：${a.limits}`,
      Exchanged: (a) => `${a.member} 以 ${a.used} ${a.fromScheme} 积分兑换 ${a.out} ${a.toScheme} 积分`,
      ExecutedForwardRequest: (a) => `代 ${a.signer} 发送其签名的请求（序号 ${a.nonce}）：${a.success === "true" ? "已执行" : "执行失败"}`,
      FixedRulePublished: (a) => `${a.by} 发布 ${a.scheme} 定额规则第 ${a.version} 版（${a.actions} 种行动）`,
      FundCreated: (a) => `${a.by} 在 ${a.scheme} 设立社区基金 ${a.fundId}，管理人 ${a.manager}`,
      FundDonated: (a) => `${a.member} 向社区基金 ${a.fundId} 捐赠 ${a.amount} 积分`,
      FundGranted: (a) => `${a.manager} 从社区基金 ${a.fundId} 拨付 ${a.amount} 积分给 ${a.to}`,
      FundManagerChanged: (a) => `${a.by} 将社区基金 ${a.fundId} 的管理人由 ${a.previousManager} 改为 ${a.manager}`,
      HelperWithdrew: (a) => `帮助者 ${a.helper} 退出请求 ${a.requestId}`,
      HoldSettled: (a) => `暂扣 ${a.holdId} 结算：付给 ${a.payee} ${a.paid}，销毁 ${a.burned}，退回 ${a.returned}`,
      ItemDelisted: (a) => `${a.by} 下架商品 ${a.itemId}`,
      ItemListed: (a) => `${a.merchant} 上架商品 ${a.itemId}：${a.price} ${a.scheme} 积分，库存 ${a.stock}，每人限 ${a.perMember}`,
      ItemUpdated: (a) => `${a.by} 更新商品 ${a.itemId}：${a.price} 积分，库存 ${a.stock}，每人限 ${a.perMember}`,
      LedgerLinked: (a) => `成员登记合约连接积分账本 ${a.ledger}`,
      LimitsSet: (a) => `${a.by} 设定 ${a.scheme} 的防刷分限制：${a.limits}`,
      MemberFrozen: (a) => `${a.by} 冻结了成员 ${a.member}（原因 ${a.reason}）`,
      MemberRecovered: (a) => `成员 ${a.previous} 的账户恢复为 ${a.successor}`,
      MemberRegistered: (a) => `${a.registrar} 登记了成员 ${a.member}`,
      MemberUnfrozen: (a) => `${a.by} 解冻了成员 ${a.member}（原因 ${a.reason}）`,
      MetadataURIChanged: (a) => `积分元数据地址改为 ${a.uri}`,
      OrderCancelled: (a) => `${a.by} 取消订单 ${a.orderId}（商品 ${a.itemId}），退回 ${a.points} 积分`,
      OrderExpired: (a) => `订单 ${a.orderId}（商品 ${a.itemId}）过期未领，退回 ${a.points} 积分`,
      OrderFulfilled: (a) => `${a.merchant} 完成订单 ${a.orderId}（商品 ${a.itemId}）：${a.points} 积分`,
      OrderPlaced: (a) => `${a.member} 下单兑换商品 ${a.itemId} × ${a.quantity}：${a.points} 积分（订单 ${a.orderId}）`,
      ParticipantJoined: (a) => `${a.member} 报名活动 ${a.activityId}`,
      ParticipantLeft: (a) => `${a.member} 退出活动 ${a.activityId}`,
      Paused: (a) => `${a.by} 暂停了 ${a.scheme}`,
      PointsBurned: (a) => `${a.scheme} 销毁 ${a.member} 的 ${a.amount} 积分`,
      PointsCorrected: (a) => `${a.scheme} 更正 ${a.member} 的积分 ${a.delta}，依据 ${a.source}`,
      PointsExpired: (a) => `${a.member} 的 ${a.amount} ${a.scheme} 积分于 ${a.expiryMonth} 过期`,
      PointsFrozen: (a) => `${a.by} 调整 ${a.member} 的 ${a.scheme} 积分冻结额，现冻结 ${a.frozen}`,
      PointsGiven: (a) => `${a.from} 赠送 ${a.amount} ${a.scheme} 积分给 ${a.to}`,
      PointsHeld: (a) => `${a.holder} 暂扣 ${a.owner} 的 ${a.amount} ${a.scheme} 积分（暂扣 ${a.holdId}）`,
      PointsIssued: (a) => `${a.scheme} 向 ${a.member} 发放 ${a.amount} 积分，依据 ${a.source}`,
      PointsIssuedInBatch: (a) => `${a.scheme} 向 ${a.count} 条记录发放共 ${a.amount} 积分，依据 ${a.source}`,
      PointsMinted: (a) => `${a.operator} 为 ${a.member} 新增 ${a.amount} ${a.scheme} 积分`,
      PointsMoved: (a) => `${a.amount} ${a.scheme} 积分由 ${a.from} 转给 ${a.to}`,
      PolicyChanged: (a) => `${a.scheme} 的合规设置：最高余额 ${a.maxBalance}，有效期 ${a.expiryMonths} 个月，供应上限 ${a.supplyLimit}（0 为不限）`,
      ProposalApproved: (a) => `${a.member} 批准提案 ${a.proposalId}（现 ${a.approvals} 票）`,
      ProposalCancelled: (a) => `${a.by} 取消提案 ${a.proposalId}`,
      ProposalCreated: (a) => `${a.proposer} 提出提案 ${a.proposalId}：${a.description}（${a.deadline} 截止）`,
      ProposalExecuted: (a) => `${a.executor} 执行提案 ${a.proposalId}`,
      ProposalLifetimeChanged: (a) => `提案有效期由 ${a.previousLifetime} 改为 ${a.lifetime}`,
      ProxyGranted: (a) => `${a.by} 登记 ${a.proxy} 为 ${a.member} 的代理人`,
      ProxyRevoked: (a) => `${a.by} 撤销 ${a.proxy} 作为 ${a.member} 代理人的资格`,
      RecordApproved: (a) => `${a.reviewer} 审核通过 ${a.volunteer} 的服务记录 ${a.record}：${a.points} 积分`,
      RecordFirstApproval: (a) => `${a.reviewer} 初审通过服务记录 ${a.record}`,
      RecordRejected: (a) => `${a.reviewer} 驳回服务记录 ${a.record}（原因 ${a.reason}）`,
      RecordSubmitted: (a) => `${a.submitter} 为 ${a.volunteer} 提交了服务记录 ${a.record}`,
      RecordSuperseded: (a) => `服务记录 ${a.record} 被更正记录 ${a.correction} 取代`,
      RecordsLinked: (a) => `活动合约连接服务记录合约 ${a.records}`,
      RequestAccepted: (a) => `${a.helper} 接受时间银行请求 ${a.requestId}`,
      RequestCancelled: (a) => `${a.by} 取消时间银行请求 ${a.requestId}`,
      RequestConfirmed: (a) => `${a.by} 确认时间银行请求 ${a.requestId} 已完成`,
      RequestDisputed: (a) => `${a.by} 对时间银行请求 ${a.requestId} 提出争议（原因 ${a.reason}）`,
      RequestPosted: (a) => `${a.requester} 发布时间银行请求 ${a.requestId}：${a.hoursOffered} 小时，${a.deadline} 截止`,
      ReviewerCapSet: (a) => `${a.by} 设定审核人 ${a.reviewer} 在 ${a.scheme} 每小时最多审核 ${a.approvalsPerHour} 条`,
      RoleAdminChanged: (a) => `角色 ${a.role} 的管理角色由 ${a.previousAdminRole} 改为 ${a.newAdminRole}`,
      RoleGranted: (a) => `${a.sender} 授予 ${a.account} 角色 ${a.role}`,
      RoleRevoked: (a) => `${a.sender} 撤销 ${a.account} 的角色 ${a.role}`,
      SchemeAdded: (a) => `积分体系 ${a.scheme}（${a.name}）加入，发行方 ${a.issuer}，配额 ${a.quota}`,
      SchemeFlagsChanged: (a) => `${a.scheme} 的功能改为：${a.flags}`,
      SchemeIssuerChanged: (a) => `${a.scheme} 的发行方由 ${a.previousIssuer} 改为 ${a.issuer}`,
      SchemeQuotaChanged: (a) => `${a.scheme} 的配额改为每 ${a.quotaPeriod} ${a.quota} 积分`,
      SchemeRoleGranted: (a) => `${a.sender} 在 ${a.scheme} 授予 ${a.account} 角色 ${a.role}`,
      SchemeRoleRevoked: (a) => `${a.sender} 在 ${a.scheme} 撤销 ${a.account} 的角色 ${a.role}`,
      SchemeValueChanged: (a) => `${a.scheme} 每积分的价值由 ${a.previousValue} 改为 ${a.unitValue} 标准单位（自区块 ${a.fromBlock}）`,
      SettlementCancelled: (a) => `${a.by} 取消清算 ${a.settlementId}：${a.payerScheme} 付 ${a.payeeScheme} ${a.amount}`,
      SettlementConfirmed: (a) => `${a.by} 确认清算 ${a.settlementId}：${a.payerScheme} 付 ${a.payeeScheme} ${a.amount}`,
      SettlementRecorded: (a) => `${a.by} 登记清算 ${a.settlementId}：${a.payerScheme} 付 ${a.payeeScheme} ${a.amount}`,
      StoreAnchored: (a) => `${a.anchorer} 将链下库快照 ${a.anchorId}（${a.rows} 行，根 ${a.root}）锚定上链`,
      ThresholdChanged: (a) => `理事会批准门槛由 ${a.previousThreshold} 票改为 ${a.threshold} 票`,
      TimeBankServiceRecorded: (a) => `时间银行请求 ${a.requestId}：${a.helper} 为 ${a.requester} 服务 ${a.hoursPaid} 小时，已记入`,
      TransferBatch: (a) => `${a.values} 从 ${a.from} 转到 ${a.to}`,
      TransferSingle: (a) => `${a.amount} ${a.scheme} 积分从 ${a.from} 转到 ${a.to}`,
      URI: (a) => `${a.scheme} 的元数据地址改为 ${a.value}`,
      Unpaused: (a) => `${a.by} 恢复了 ${a.scheme}`,
    },
  },
  en: {
    title: "Auditors' explorer", switch: "中文", search: "Search", use_token: "Use token", wallet: "Sign in with a wallet",
    signin_intro: "Auditors sign in: with a wallet signature, or paste a token (from vpl or the API).",
    token_ph: "Bearer token", search_ph: "tx hash, block number, address, record (record 12), batch (batch 3) or scheme code",
    footer: "The chain is the source of truth; the index only says where things happened.",
    kind: { tx: "transaction", block: "block", address: "address", record: "service record", batch: "batch", scheme: "scheme" },
    indexed: (b, behind) => behind ? `indexed to block ${b}, ${behind} blocks behind` : `indexed to block ${b} (up to date)`,
    loading: "Loading…", none: "Nothing yet", more: "More", problems: "Problems", no_problems: "No problems found",
    latest: "Latest events", schemes: "Schemes", supply: "Supply", supply_chart: "Supply over time",
    reconciliation: "Reconciliation", balanced: "chain and index agree", unbalanced: "they differ",
    events: "Events", movements: "Points moved", records: "Records", people: "People", activity: "Activity",
    store: "Off-chain details", store_ok: "match the chain", store_bad: "DIFFER from the chain", store_none: "not in this store",
    status: "Status", volunteer: "Volunteer", submitter: "Submitted by", reviewer: "Decided by", first_reviewer: "First approval",
    service: "Service", points: "Points", balances: "Balances", member: "Member", registrar: "Registered by",
    block: "Block", time: "Time", tx: "Transaction", amount: "Amount", from: "From", to: "To", kind_col: "Kind", cause: "Cause",
    issued_for: "Issued for", registered: "Registered", flows: "Points in and out",
    code: "code", name: "name", issuer: "issuer", all_schemes: "every scheme", parts: (n) => `${n} events in it`,
    days: (n) => `${n} days`, hours: (n) => `${n} hours`, seconds: (n) => `${n} seconds`, none_word: "none",
    status_words: { none: "not registered", active: "active", frozen: "frozen", recovered: "recovered", pending: "pending",
      "awaiting-second": "awaiting a second approval", approved: "approved", rejected: "rejected", superseded: "superseded",
      submitted: "submitted", cancelled: "cancelled", confirmed: "confirmed" },
    kinds: { issued: "issued", corrected: "corrected", exchanged: "exchanged", redemption_hold: "held for an order",
      redemption_fulfilled: "order fulfilled", redemption_refund: "order refunded", timebank_hold: "held for a time-bank request",
      timebank_payment: "time-bank payment", timebank_refund: "time-bank refund", gift: "gift", fund_donation: "fund donation",
      fund_grant: "fund grant", expired: "expired", recovered: "moved to a recovered account", minted: "created", burned: "burned",
      moved: "moved", held: "held", hold_paid: "hold paid", hold_burned: "hold burned", hold_returned: "hold returned", transfer: "transfer" },
    flags: { "exchange-out": "exchange out", "exchange-in": "exchange in", gifts: "gifts", redemption: "redemption", "time-bank": "time bank" },
    limits: { minValue: "minimum value", memberDaily: "per member a day", memberMonthly: "per member a month", schemeDailyOut: "out a day",
      schemeDailyIn: "in a day", recordsPerDay: "records a day", minutesPerDay: "minutes a day", pointsPerDay: "points a day",
      pointsPerWeek: "points a week", approvalsPerHour: "approvals an hour", lateWorkingDays: "late submission (working days)" },
    s: {
      ActivityCancelled: (a) => `${a.by} cancelled activity ${a.activityId} (reason ${a.reason})`,
      ActivityCreated: (a) => `${a.organiser} published activity ${a.activityId} in ${a.scheme}: ${a.start} – ${a.end}, ${a.capacity} places`,
      ApprovalForAll: (a) => `${a.account} ${a.approved === "true" ? "let" : "no longer lets"} ${a.operator} move their points`,
      ApprovalRevoked: (a) => `${a.member} withdrew their approval of proposal ${a.proposalId} (${a.approvals} approvals now)`,
      BalancesRecovered: (a) => `${a.previous}'s balances ${a.amounts} moved to the recovered account ${a.successor}`,
      BatchApproved: (a) => `${a.reviewer} approved batch ${a.batch}: ${a.count} records, ${a.points} points`,
      BatchRecordImported: (a) => `line ${a.index} of batch ${a.batch} became service record ${a.record}`,
      BatchRejected: (a) => `${a.reviewer} rejected batch ${a.batch} (reason ${a.reason})`,
      BatchSubmitted: (a) => `${a.submitter} submitted batch ${a.batch} (${a.count} records)`,
      CouncilMemberAdded: (a) => `${a.member} joined the council`,
      CouncilMemberRemoved: (a) => `${a.member} left the council`,
      DisputeResolved: (a) => `${a.reviewer} resolved the dispute over request ${a.requestId}: ${a.helperHours} hours to the helper, ${a.returnedHours} returned`,
      DurationRulePublished: (a) => `${a.by} published ${a.scheme}'s duration rule version ${a.version}: ${a.pointsPerHour} points an hour`,
      EIP712DomainChanged: () => `the forwarder's signing domain changed`,
      ExchangeLimitsChanged: (a) => `${a.scheme}'s exchange limits set: ${a.limits}`,
      Exchanged: (a) => `${a.member} exchanged ${a.used} ${a.fromScheme} points for ${a.out} ${a.toScheme} points`,
      ExecutedForwardRequest: (a) => `${a.signer}'s signed request (nonce ${a.nonce}) relayed: ${a.success === "true" ? "executed" : "failed"}`,
      FixedRulePublished: (a) => `${a.by} published ${a.scheme}'s fixed rule version ${a.version} (${a.actions} actions)`,
      FundCreated: (a) => `${a.by} set up community fund ${a.fundId} in ${a.scheme}, managed by ${a.manager}`,
      FundDonated: (a) => `${a.member} donated ${a.amount} points to community fund ${a.fundId}`,
      FundGranted: (a) => `${a.manager} granted ${a.amount} points from community fund ${a.fundId} to ${a.to}`,
      FundManagerChanged: (a) => `${a.by} made ${a.manager} manager of community fund ${a.fundId} (was ${a.previousManager})`,
      HelperWithdrew: (a) => `helper ${a.helper} withdrew from request ${a.requestId}`,
      HoldSettled: (a) => `hold ${a.holdId} settled: ${a.paid} paid to ${a.payee}, ${a.burned} burned, ${a.returned} returned`,
      ItemDelisted: (a) => `${a.by} delisted item ${a.itemId}`,
      ItemListed: (a) => `${a.merchant} listed item ${a.itemId}: ${a.price} ${a.scheme} points, ${a.stock} in stock, ${a.perMember} per member`,
      ItemUpdated: (a) => `${a.by} updated item ${a.itemId}: ${a.price} points, ${a.stock} in stock, ${a.perMember} per member`,
      LedgerLinked: (a) => `the member registry was linked to the points ledger ${a.ledger}`,
      LimitsSet: (a) => `${a.by} set ${a.scheme}'s anti-farming limits: ${a.limits}`,
      MemberFrozen: (a) => `${a.by} froze member ${a.member} (reason ${a.reason})`,
      MemberRecovered: (a) => `member ${a.previous}'s account was recovered to ${a.successor}`,
      MemberRegistered: (a) => `${a.registrar} registered member ${a.member}`,
      MemberUnfrozen: (a) => `${a.by} unfroze member ${a.member} (reason ${a.reason})`,
      MetadataURIChanged: (a) => `the points' metadata address became ${a.uri}`,
      OrderCancelled: (a) => `${a.by} cancelled order ${a.orderId} (item ${a.itemId}): ${a.points} points returned`,
      OrderExpired: (a) => `order ${a.orderId} (item ${a.itemId}) was not collected in time: ${a.points} points returned`,
      OrderFulfilled: (a) => `${a.merchant} fulfilled order ${a.orderId} (item ${a.itemId}): ${a.points} points`,
      OrderPlaced: (a) => `${a.member} ordered item ${a.itemId} × ${a.quantity} for ${a.points} points (order ${a.orderId})`,
      ParticipantJoined: (a) => `${a.member} joined activity ${a.activityId}`,
      ParticipantLeft: (a) => `${a.member} left activity ${a.activityId}`,
      Paused: (a) => `${a.by} paused ${a.scheme}`,
      PointsBurned: (a) => `${a.scheme} burned ${a.amount} of ${a.member}'s points`,
      PointsCorrected: (a) => `${a.scheme} corrected ${a.member}'s points by ${a.delta} for ${a.source}`,
      PointsExpired: (a) => `${a.amount} of ${a.member}'s ${a.scheme} points expired in ${a.expiryMonth}`,
      PointsFrozen: (a) => `${a.by} changed how many of ${a.member}'s ${a.scheme} points are frozen: ${a.frozen} now`,
      PointsGiven: (a) => `${a.from} gave ${a.amount} ${a.scheme} points to ${a.to}`,
      PointsHeld: (a) => `${a.holder} held ${a.amount} of ${a.owner}'s ${a.scheme} points (hold ${a.holdId})`,
      PointsIssued: (a) => `${a.scheme} issued ${a.amount} points to ${a.member} for ${a.source}`,
      PointsIssuedInBatch: (a) => `${a.scheme} issued ${a.amount} points for ${a.count} records of ${a.source}`,
      PointsMinted: (a) => `${a.operator} created ${a.amount} ${a.scheme} points for ${a.member}`,
      PointsMoved: (a) => `${a.amount} ${a.scheme} points moved from ${a.from} to ${a.to}`,
      PolicyChanged: (a) => `${a.scheme}'s compliance settings: maximum balance ${a.maxBalance}, expiry ${a.expiryMonths} months, supply limit ${a.supplyLimit} (0: none)`,
      ProposalApproved: (a) => `${a.member} approved proposal ${a.proposalId} (${a.approvals} approvals now)`,
      ProposalCancelled: (a) => `${a.by} cancelled proposal ${a.proposalId}`,
      ProposalCreated: (a) => `${a.proposer} proposed ${a.proposalId}: ${a.description} (until ${a.deadline})`,
      ProposalExecuted: (a) => `${a.executor} executed proposal ${a.proposalId}`,
      ProposalLifetimeChanged: (a) => `proposals now stay open ${a.lifetime} (was ${a.previousLifetime})`,
      ProxyGranted: (a) => `${a.by} recorded ${a.proxy} as ${a.member}'s proxy`,
      ProxyRevoked: (a) => `${a.by} revoked ${a.proxy} as ${a.member}'s proxy`,
      RecordApproved: (a) => `${a.reviewer} approved ${a.volunteer}'s service record ${a.record}: ${a.points} points`,
      RecordFirstApproval: (a) => `${a.reviewer} gave service record ${a.record} its first approval`,
      RecordRejected: (a) => `${a.reviewer} rejected service record ${a.record} (reason ${a.reason})`,
      RecordSubmitted: (a) => `${a.submitter} submitted service record ${a.record} for ${a.volunteer}`,
      RecordSuperseded: (a) => `service record ${a.record} was superseded by correction ${a.correction}`,
      RecordsLinked: (a) => `activities were linked to the service records contract ${a.records}`,
      RequestAccepted: (a) => `${a.helper} accepted time-bank request ${a.requestId}`,
      RequestCancelled: (a) => `${a.by} cancelled time-bank request ${a.requestId}`,
      RequestConfirmed: (a) => `${a.by} confirmed time-bank request ${a.requestId} was done`,
      RequestDisputed: (a) => `${a.by} disputed time-bank request ${a.requestId} (reason ${a.reason})`,
      RequestPosted: (a) => `${a.requester} posted time-bank request ${a.requestId}: ${a.hoursOffered} hours, until ${a.deadline}`,
      ReviewerCapSet: (a) => `${a.by} capped reviewer ${a.reviewer} at ${a.approvalsPerHour} approvals an hour in ${a.scheme}`,
      RoleAdminChanged: (a) => `role ${a.role} is now administered by ${a.newAdminRole} (was ${a.previousAdminRole})`,
      RoleGranted: (a) => `${a.sender} granted ${a.account} the role ${a.role}`,
      RoleRevoked: (a) => `${a.sender} revoked ${a.account}'s role ${a.role}`,
      SchemeAdded: (a) => `scheme ${a.scheme} (${a.name}) admitted, issued by ${a.issuer}, quota ${a.quota}`,
      SchemeFlagsChanged: (a) => `${a.scheme} now allows: ${a.flags}`,
      SchemeIssuerChanged: (a) => `${a.scheme}'s issuer is now ${a.issuer} (was ${a.previousIssuer})`,
      SchemeQuotaChanged: (a) => `${a.scheme}'s quota is now ${a.quota} points per ${a.quotaPeriod}`,
      SchemeRoleGranted: (a) => `${a.sender} granted ${a.account} the role ${a.role} in ${a.scheme}`,
      SchemeRoleRevoked: (a) => `${a.sender} revoked ${a.account}'s role ${a.role} in ${a.scheme}`,
      SchemeValueChanged: (a) => `a ${a.scheme} point is now worth ${a.unitValue} standard units (was ${a.previousValue}) from block ${a.fromBlock}`,
      SettlementCancelled: (a) => `${a.by} cancelled settlement ${a.settlementId}: ${a.payerScheme} pays ${a.payeeScheme} ${a.amount}`,
      SettlementConfirmed: (a) => `${a.by} confirmed settlement ${a.settlementId}: ${a.payerScheme} pays ${a.payeeScheme} ${a.amount}`,
      SettlementRecorded: (a) => `${a.by} recorded settlement ${a.settlementId}: ${a.payerScheme} pays ${a.payeeScheme} ${a.amount}`,
      StoreAnchored: (a) => `${a.anchorer} anchored snapshot ${a.anchorId} of the off-chain store (${a.rows} rows, root ${a.root})`,
      ThresholdChanged: (a) => `the council now needs ${a.threshold} approvals (was ${a.previousThreshold})`,
      TimeBankServiceRecorded: (a) => `time-bank request ${a.requestId}: ${a.helper} served ${a.requester} for ${a.hoursPaid} hours, recorded`,
      TransferBatch: (a) => `${a.values} moved from ${a.from} to ${a.to}`,
      TransferSingle: (a) => `${a.amount} ${a.scheme} points moved from ${a.from} to ${a.to}`,
      URI: (a) => `${a.scheme}'s metadata address became ${a.value}`,
      Unpaused: (a) => `${a.by} resumed ${a.scheme}`,
    },
  },
};

const browserLanguage = (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
const state = {
  lang: sessionStorage.getItem("vpl-lang") || browserLanguage,
  // sessionStorage only: the token is gone when the tab closes.
  token: sessionStorage.getItem("vpl-token") || "",
  schemes: {},
};
const t = () => TEXT[state.lang];
const $ = (sel) => document.querySelector(sel);
const ZERO = "0x0000000000000000000000000000000000000000";

// --- safe HTML -------------------------------------------------------------------------------
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
const short = (h) => (h && h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-4)}` : h);
const link = (route, label, cls = "") => `<a href="#/${esc(route)}" class="${esc(cls)}" data-route="${esc(route)}">${esc(label)}</a>`;
const addr = (a) => (!a || a.toLowerCase() === ZERO ? "0x0" : link(`address/${a}`, short(a), "mono addr"));
const txLink = (h) => link(`tx/${h}`, short(h), "mono tx");
const blockLink = (b) => link(`block/${b}`, `#${b}`, "block");
const recordLink = (id) => link(`record/${id}`, `#${id}`, "record");
const batchLink = (id) => link(`batch/${id}`, `${t().kind.batch} ${id}`, "batch");
const schemeLink = (id) => {
  if (String(id) === "0") return esc(t().all_schemes);
  const s = state.schemes[String(id)];
  return s ? link(`scheme/${s.code}`, s.code, "scheme") : esc(`${t().kind.scheme} ${id}`);
};
// Status and kind words as the API gives them (English identifiers), in the page's language.
const statusWord = (w) => esc(t().status_words[w] || w);
const kindWord = (k) => esc(t().kinds[k] || k);
// China Standard Time in one unambiguous form for both languages: 2026-12-04 16:05 CST.
const pad = (n) => String(n).padStart(2, "0");
function when(value) {
  const d = new Date((typeof value === "number" ? value * 1000 : new Date(value).getTime()) + 8 * 3600 * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())} CST`;
}
// ServiceTime months: months since January 1970 (CST).
const month = (m) => `${1970 + Math.floor(Number(m) / 12)}-${pad((Number(m) % 12) + 1)}`;
function duration(seconds) {
  const n = Number(seconds);
  return n && n % 86400 === 0 ? t().days(n / 86400) : n && n % 3600 === 0 ? t().hours(n / 3600) : t().seconds(n);
}

// --- the API ---------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.code = e.code; this.zh = e.message_zh;
  }
}
async function api(path, options = {}) {
  const headers = { Accept: "application/json", ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { ...options, headers });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, body);
  return body;
}
function showError(err) {
  const box = $("#error");
  if (!err) { box.hidden = true; box.textContent = ""; return; }
  box.hidden = false;
  // The Chinese message names the kind of error; the details (which hash, how far behind) follow.
  box.textContent = state.lang === "zh" && err.zh ? `${err.zh} ${err.message}` : err.message;
  if (err.status === 401) $("#signin").hidden = false;
}

// --- domain sentences --------------------------------------------------------------------------
function sourceLink(source) {
  const n = BigInt(source);
  const tag = Number(n >> 248n);
  const id = (n & ((1n << 248n) - 1n)).toString();
  return tag === 1 ? recordLink(id) : tag === 2 ? batchLink(id) : esc(short(source));
}
const TIME_ARGS = ["start", "end", "deadline", "expiresAt", "availableFrom", "availableUntil"];
const amounts = (ids, values) => ids.map((id, i) => `${esc(values[i])} ${schemeLink(id)}`).join(", ") || esc(t().none_word);
const fields = (obj, labels) => Object.entries(obj).map(([k, x]) => `${esc(labels[k] || k)} ${esc(x)}`).join(", ");
const flagWords = (bits) => Object.keys(t().flags).filter((_, i) => Number(bits) & (1 << i)).map((f) => esc(t().flags[f])).join(", ") || esc(t().none_word);
const ascii = (hex) => String(hex).slice(2).match(/../g).map((b) => parseInt(b, 16)).filter(Boolean).map((c) => String.fromCharCode(c)).join("");
// The sentence arguments of an event: every value escaped, accounts, records, batches, schemes
// and sources as links, times, months, durations, flags and limits in words.
function sentenceArgs(e) {
  const a = e.args || {};
  const v = {};
  for (const [k, x] of Object.entries(a)) {
    v[k] = typeof x === "string" && /^0x[0-9a-fA-F]{40}$/.test(x) ? addr(x)
      : typeof x === "string" && /^0x[0-9a-fA-F]{64}$/.test(x) ? `<span class="mono">${esc(short(x))}</span>`
      : esc(typeof x === "object" ? JSON.stringify(x) : x);
  }
  if ("recordId" in a) v.record = recordLink(a.recordId);
  if ("correction" in a) v.correction = recordLink(a.correction);
  if ("batchId" in a) v.batch = batchLink(a.batchId);
  if ("schemeId" in a) v.scheme = schemeLink(a.schemeId);
  for (const k of ["fromScheme", "toScheme", "payerScheme", "payeeScheme"]) if (k in a) v[k] = schemeLink(a[k]);
  if ("source" in a) v.source = sourceLink(a.source);
  for (const k of TIME_ARGS) if (k in a) v[k] = esc(when(Number(a[k])));
  if ("expiryMonth" in a) v.expiryMonth = esc(month(a.expiryMonth));
  if ("limits" in a) v.limits = fields(a.limits, t().limits);
  if ("flags" in a) v.flags = flagWords(a.flags);
  for (const k of ["quotaPeriod", "lifetime", "previousLifetime"]) if (k in a) v[k] = esc(duration(a[k]));
  for (const k of ["unitValue", "previousValue"]) if (k in a) v[k] = esc(Number(a[k]) / 1000);
  if (Array.isArray(a.actions)) v.actions = esc(a.actions.length);
  if (e.event === "SchemeAdded") v.scheme = esc(ascii(a.code));
  if (e.event === "BalancesRecovered") v.amounts = amounts(a.schemeIds, a.amounts);
  if (e.event === "TransferBatch") v.values = amounts(a.ids, a.values);
  if (e.event === "TransferSingle") { v.scheme = schemeLink(a.id); v.amount = esc(a.value); }
  if (e.event === "URI") v.scheme = schemeLink(a.id);
  return v;
}
function sentence(e, parts = "") {
  const make = t().s[e.event];
  const text = make ? make(sentenceArgs(e)) : esc(e.event);
  return `<li class="event" data-event="${esc(e.event)}" data-tx="${esc(e.tx_hash)}">${text} <span class="muted">— ${blockLink(e.block)} · ${txLink(e.tx_hash)} · ${esc(when(e.timestamp))}</span>${parts}</li>`;
}
// How an event stands in its transaction: 0 says what happened (a gift, an approval, an order),
// 1 is the ledger's bookkeeping of it (points moved, issued, held), 2 the plumbing (ERC-1155
// transfers, the forwarder relaying a signed request). A transaction reads as its lowest tier's
// sentences, with the rest folded under them.
const TIER = {
  PointsIssued: 1, PointsIssuedInBatch: 1, PointsMoved: 1, PointsHeld: 1, HoldSettled: 1, PointsMinted: 1, PointsBurned: 1,
  PointsCorrected: 1, PointsExpired: 1, BatchRecordImported: 1, BalancesRecovered: 1,
  TransferSingle: 2, TransferBatch: 2, ExecutedForwardRequest: 2,
};
function transactions(events) {
  const byTx = new Map();
  for (const e of events) {
    if (!byTx.has(e.tx_hash)) byTx.set(e.tx_hash, []);
    byTx.get(e.tx_hash).push(e);
  }
  return [...byTx.values()].map((group) => {
    const lead = Math.min(...group.map((e) => TIER[e.event] || 0));
    return { leads: group.filter((e) => (TIER[e.event] || 0) === lead), rest: group.filter((e) => (TIER[e.event] || 0) !== lead) };
  });
}
function eventList(events, { open = false } = {}) {
  if (!events.length) return `<p class="muted">${t().none}</p>`;
  const items = transactions(events).map(({ leads, rest }) => {
    const parts = rest.length
      ? `<details class="parts"${open ? " open" : ""}><summary>${esc(t().parts(rest.length))}</summary><ol>${rest.map((e) => sentence(e)).join("")}</ol></details>`
      : "";
    return leads.map((e, i) => sentence(e, i === leads.length - 1 ? parts : "")).join("");
  });
  return `<ol class="events">${items.join("")}</ol>`;
}
function rows(headers, body) {
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")}</tbody></table>`;
}
function problems(list) {
  return list && list.length
    ? `<h3>${t().problems}</h3><ul id="problems">${list.map((p) => `<li class="problem">${esc(p)}</li>`).join("")}</ul>`
    : `<p class="ok" id="problems">${t().no_problems}</p>`;
}
function storeLine(s) {
  if (!s.found) return `<span class="muted">${t().store_none}</span>`;
  return s.matches ? `<span class="ok">${t().store_ok}</span>` : `<span class="problem">${t().store_bad}: ${esc(s.problems.join("; "))}</span>`;
}

// --- views -------------------------------------------------------------------------------------
const views = {
  async home() {
    const [events] = await Promise.all([api("/v1/audit/events?limit=20")]);
    const schemes = Object.values(state.schemes);
    return `<h2>${t().schemes}</h2>${rows([t().code, t().name, t().issuer], schemes.map((s) => [link(`scheme/${s.code}`, s.code, "scheme"), esc(s.name), addr(s.issuer)]))}
      <h2>${t().latest}</h2>${eventList(events.entries)}`;
  },
  async tx(hash) {
    const tr = await api(`/v1/audit/trace?tx_hash=${encodeURIComponent(hash)}`);
    const moves = tr.movements.map((m) => [kindWord(m.kind), schemeLink(m.scheme_id), addr(m.from_address), addr(m.to_address), esc(m.amount),
      m.record ? recordLink(m.record.record_id) : m.batch ? batchLink(m.batch.batch_id) : esc(m.reference || "")]);
    return `<h2>${t().tx} <code>${esc(tr.tx_hash)}</code></h2><p>${t().block} ${blockLink(tr.block)} · ${esc(when(tr.timestamp))}</p>
      <h3>${t().events}</h3>${eventList(tr.events.map((e) => ({ ...e, tx_hash: tr.tx_hash, timestamp: e.timestamp })), { open: true })}
      <h3>${t().movements}</h3>${rows([t().kind_col, t().schemes, t().from, t().to, t().amount, t().cause], moves)}`;
  },
  async block(number) {
    const page = await api(`/v1/audit/events?block=${encodeURIComponent(number)}&limit=200`);
    return `<h2>${t().block} #${esc(number)}</h2>${eventList(page.entries)}`;
  },
  async address(account, cursor) {
    const f = await api(`/v1/audit/members/${encodeURIComponent(account)}?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    const balances = Object.entries(f.balances).map(([code, n]) => [link(`scheme/${code}`, code, "scheme"), esc(n)]);
    const flows = Object.entries(f.flows).flatMap(([code, kinds]) => Object.entries(kinds).map(([k, x]) => [esc(code), kindWord(k), esc(x.in), esc(x.out), esc(x.count)]));
    const more = f.events.next_cursor ? `<p>${link(`address/${f.address}/${f.events.next_cursor}`, t().more, "more")}</p>` : "";
    return `<h2>${t().member} <code>${esc(f.address)}</code></h2>
      <p>${t().status}: <strong id="member-status" data-status="${esc(f.status)}">${statusWord(f.status)}</strong> · ${t().registrar}: ${f.registrar ? addr(f.registrar) : "-"}${f.registered_at ? ` · ${t().registered} ${esc(when(f.registered_at))}` : ""}</p>
      <h3>${t().balances}</h3>${rows(["", t().amount], balances)}
      <h3>${t().flows}</h3>${rows(["", t().kind_col, "+", "-", "n"], flows)}
      <h3>${t().events}</h3>${eventList(f.events.entries)}${more}`;
  },
  async record(id) {
    const r = await api(`/v1/audit/records/${encodeURIComponent(id)}/trace`);
    const people = [[t().volunteer, addr(r.volunteer)], [t().submitter, addr(r.submitter)],
      [t().first_reviewer, r.first_reviewer ? addr(r.first_reviewer) : "-"], [t().reviewer, r.reviewer ? addr(r.reviewer) : "-"]];
    const act = r.activity
      ? `<h3>${t().activity} ${esc(r.activity.id)}</h3><p>${esc(when(r.activity.start))} – ${esc(when(r.activity.end))} · ${addr(r.activity.organiser)}${r.activity.cancelled ? " · ✕" : ""} · ${t().store}: ${storeLine(r.activity.store)}</p>`
      : "";
    const issued = r.issued.map((m) => [kindWord(m.kind), addr(m.to), esc(m.amount), txLink(m.tx_hash), blockLink(m.block)]);
    return `<h2 id="record-title">${t().kind.record} #${esc(r.record_id)} · ${schemeLink(r.scheme_id)} · <span id="record-status" data-status="${esc(r.status)}">${statusWord(r.status)}</span></h2>
      <p>${t().service}: ${esc(when(r.start))} – ${esc(when(r.end))} · ${t().points}: <strong id="record-points">${esc(r.points)}</strong></p>
      <h3>${t().people}</h3>${rows(["", ""], people.map(([k, v]) => [esc(k), v]))}${act}
      <h3>${t().events}</h3>${eventList(r.events.map((s) => ({ ...s })))}
      <h3>${t().movements}</h3>${rows([t().kind_col, t().to, t().amount, t().tx, t().block], issued)}
      <p>${t().store}: <span id="record-store">${storeLine(r.store)}</span></p>${problems(r.problems)}`;
  },
  async batch(id) {
    const b = await api(`/v1/audit/batches/${encodeURIComponent(id)}/trace`);
    const lines = b.records.map((r) => [esc(r.index), addr(r.volunteer), `${esc(when(r.start))} – ${esc(when(r.end))}`, r.record_id ? recordLink(r.record_id) : "-", storeLine(r.store)]);
    return `<h2>${t().kind.batch} ${esc(b.batch_id)} · ${schemeLink(b.scheme_id)} · <span id="batch-status" data-status="${esc(b.status)}">${statusWord(b.status)}</span></h2>
      <p>${t().submitter}: ${addr(b.submitter)} · ${t().reviewer}: ${b.reviewer ? addr(b.reviewer) : "-"} · ${t().points}: ${esc(b.points)}</p>
      <h3>${t().events}</h3>${eventList(b.events)}<h3>${t().records}</h3>${rows(["#", t().volunteer, t().service, t().kind.record, t().store], lines)}${problems(b.problems)}`;
  },
  async scheme(code) {
    const s = Object.values(state.schemes).find((x) => x.code === code) || (await api(`/v1/schemes/${encodeURIComponent(code)}`));
    const [rec, series, events] = await Promise.all([
      api(`/v1/audit/schemes/${encodeURIComponent(code)}/reconciliation`),
      api(`/v1/audit/supply-series?scheme=${encodeURIComponent(code)}&bucket=day`),
      api(`/v1/audit/events?ref=scheme:${s.id}&limit=20`),
    ]);
    return `<h2>${t().kind.scheme} ${esc(s.code)} · ${esc(s.name)}</h2>
      <p>${t().supply}: <strong id="total-supply">${esc(rec.chain.total_supply)}</strong> · ${t().reconciliation}: <span id="reconciliation" class="${rec.balanced ? "ok" : "problem"}">${rec.balanced ? t().balanced : t().unbalanced}</span></p>
      ${problems(rec.findings)}<h3>${t().supply_chart}</h3>${chart(series.points)}<h3>${t().latest}</h3>${eventList(events.entries)}`;
  },
};

function chart(points) {
  if (!points.length) return `<p class="muted">${t().none}</p>`;
  const w = 640, h = 200, pad = 36;
  const max = Math.max(1, ...points.map((p) => p.total));
  const x = (i) => pad + (points.length === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (points.length - 1));
  const y = (v) => h - pad + 10 - (v * (h - 2 * pad)) / max;
  const coords = points.map((p, i) => `${x(i).toFixed(1)},${y(p.total).toFixed(1)}`).join(" ");
  const dots = points.map((p, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(p.total).toFixed(1)}" r="3"><title>${esc(when(p.start))}: ${esc(p.total)}</title></circle>`).join("");
  return `<svg id="supply-chart" class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" data-points="${points.length}" role="img" aria-label="${esc(t().supply_chart)}">
    <text x="4" y="14">${esc(max)}</text><text x="4" y="${h - pad + 10}">0</text>
    <text x="${pad}" y="${h - 4}">${esc(when(points[0].start))}</text>
    <polyline points="${coords}"></polyline>${dots}</svg>`;
}

// --- routing, search, language, sign-in --------------------------------------------------------
async function route() {
  const parts = (location.hash.replace(/^#\/?/, "") || "").split("/").filter(Boolean);
  const [kind, ...rest] = parts;
  const view = $("#view");
  showError(null);
  view.innerHTML = `<p class="muted">${t().loading}</p>`;
  try {
    if (!state.token) { $("#signin").hidden = false; view.innerHTML = ""; return; }
    await refreshStatus();
    const render = views[kind] || views.home;
    view.innerHTML = await render(...rest.map(decodeURIComponent));
    view.dataset.view = views[kind] ? kind : "home";
  } catch (err) {
    view.innerHTML = "";
    view.dataset.view = "error";
    showError(err);
  }
}
async function refreshStatus() {
  // The schemes every view names, read again each time: one admitted since is named too.
  const [status, schemes] = await Promise.all([api("/v1/audit/index"), api("/v1/schemes")]);
  for (const s of schemes) state.schemes[String(s.id)] = s;
  $("#index-status").textContent = t().indexed(status.indexed_block, status.blocks_behind);
  $("#index-status").dataset.behind = status.blocks_behind;
}
async function onSearch(ev) {
  ev.preventDefault();
  const q = $("#q").value.trim();
  if (!q) return;
  try {
    const hit = await api(`/v1/audit/search?q=${encodeURIComponent(q)}`);
    $("#kind").textContent = t().kind[hit.kind] || hit.kind;
    $("#kind").dataset.kind = hit.kind;
    const target = `#/${hit.kind}/${hit.target}`;
    if (location.hash === target) route(); else location.hash = target;
  } catch (err) {
    $("#kind").textContent = "";
    showError(err);
  }
}
function applyLanguage() {
  document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t()[el.dataset.i18n]; });
  document.querySelectorAll("[data-i18n-placeholder]").forEach((el) => { el.placeholder = t()[el.dataset.i18nPlaceholder]; });
}
function useToken(token) {
  state.token = token.trim();
  sessionStorage.setItem("vpl-token", state.token);
  $("#signin").hidden = Boolean(state.token);
  route();
}
async function walletSignIn() {
  try {
    const [account] = await window.ethereum.request({ method: "eth_requestAccounts" });
    const challenge = await api("/v1/auth/challenge", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ address: account }) });
    const signature = await window.ethereum.request({ method: "personal_sign", params: [challenge.message, account] });
    const session = await api("/v1/auth/sign-in", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ message: challenge.message, signature }) });
    useToken(session.token);
  } catch (err) {
    showError(err);
  }
}

$("#search").addEventListener("submit", onSearch);
$("#lang-switch").addEventListener("click", () => {
  state.lang = state.lang === "zh" ? "en" : "zh";
  sessionStorage.setItem("vpl-lang", state.lang);
  applyLanguage();
  route();
});
$("#use-token").addEventListener("click", () => useToken($("#token").value));
if (window.ethereum) { $("#wallet-sign-in").hidden = false; $("#wallet-sign-in").addEventListener("click", walletSignIn); }
window.addEventListener("hashchange", route);
applyLanguage();
$("#signin").hidden = Boolean(state.token);
route();
