"""The scripts Huikuan ships: one per debtor type and language, and a few for a contact's personality.

Written for Huikuan from the playbook's advice (PLAYBOOK §5, §6): be direct, polite and factual;
ask for the full amount; get a dated, written commitment; fix a complaint before collecting.
Installed by a data migration; users edit them afterwards (an edited script is no longer a default).
"""

from __future__ import annotations

from typing import Any

# (debtor type, personality, language, title, body)
SHIPPED_SCRIPTS: tuple[tuple[str, str, str, str, str], ...] = (
    (
        "MALICIOUS",
        "",
        "zh-hans",
        "恶意拖欠:锁定书面承诺",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "贵司的发票 {{ invoice_numbers }} 已逾期 {{ days_overdue }} 天,合计 {{ amount_overdue }};"
        "此前约定的付款已有 {{ broken_promises }} 次没有兑现。\n"
        "今天请您确认两件事:\n"
        "1. 全额付款的具体日期(我们不接受只先付一部分);\n"
        "2. 今天之内以盖章确认函或邮件书面确认欠款金额和付款日期,并写明经办人姓名。\n"
        "如果到期仍未付款,我们将停止供货,并按合同交由法务处理,产生的利息和费用由贵司承担。\n"
        "(记下:谁承诺、何时、以什么方式;电话请录音或随后邮件确认。)",
    ),
    (
        "MALICIOUS",
        "",
        "en",
        "Malicious: secure a written commitment",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "Invoices {{ invoice_numbers }} are {{ days_overdue }} days overdue, {{ amount_overdue }} in total, "
        "and {{ broken_promises }} payment promise(s) have not been kept.\n"
        "Today I need two things from you:\n"
        "1. The date on which the full amount will be paid (not a first instalment).\n"
        "2. A written confirmation of the amount and that date, signed or e-mailed today, with your name.\n"
        "If the payment does not arrive on that date, supply stops and the matter goes to our lawyer under "
        "the contract, with interest and costs charged to you.\n"
        "(Note who promised, when and how; record the call or confirm it by e-mail afterwards.)",
    ),
    (
        "MALICIOUS",
        "scheming",
        "zh-hans",
        "恶意拖欠 · 阴谋型:只找原经办人和负责人",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "这笔 {{ amount_overdue }} 的欠款(发票 {{ invoice_numbers }})一直是您经办的,"
        "所以我只和您、或者能拍板的负责人谈,不再转给其他同事。\n"
        "请现在给我一个全额付款日期,并在今天书面确认。如果今天定不下来,"
        "我明天上午到贵司当面和负责人确认。\n"
        "(不接受换人接待、改天再说;每次通话记下时间和内容。)",
    ),
    (
        "MALICIOUS",
        "scheming",
        "en",
        "Malicious · scheming: stay with the original contact and the decision maker",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "You have handled the {{ amount_overdue }} owed on invoices {{ invoice_numbers }} from the start, so I "
        "will settle it with you or with the person who decides, not with a new colleague each time.\n"
        "Please give me the date of full payment now and confirm it in writing today. If we cannot fix it "
        "today, I will come tomorrow morning to confirm it in person with your manager.\n"
        "(Do not accept being passed on or put off; note the time and content of every call.)",
    ),
    (
        "TECHNICAL",
        "",
        "zh-hans",
        "技术性欠款:理解困难,约定分期",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "贵司一直付款及时,我们很珍惜这段合作。发票 {{ invoice_numbers }}({{ amount_overdue }})"
        "自 {{ oldest_due_date }} 起逾期,想先了解一下是不是资金上遇到了暂时的困难?\n"
        "如果一次付清有压力,我们可以商量一个分期方案:每期金额和日期写进协议,按期付款期间不再催收。\n"
        "您看哪天能把第一期和后续安排定下来?我会按约定的日期跟进。",
    ),
    (
        "TECHNICAL",
        "",
        "en",
        "Technical: understand the squeeze, agree instalments",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "You have always paid on time and we value working with you. Invoices {{ invoice_numbers }} "
        "({{ amount_overdue }}) have been overdue since {{ oldest_due_date }}: is cash tight for the moment?\n"
        "If paying everything at once is hard, we can agree an instalment plan: amounts and dates in writing, "
        "and no reminders while the instalments are paid.\n"
        "When can we fix the first instalment and the rest? I will follow up on the dates we agree.",
    ),
    (
        "TECHNICAL",
        "cooperative",
        "zh-hans",
        "技术性欠款 · 合作型:假设条件",
        "{{ contact_name }}您好,我是{{ collector_name }}。\n"
        "我们想帮贵司渡过这段时间。假如本月先付一半、下月付清余款,"
        "我这边可以申请暂停催收,并保持贵司现有的账期——您觉得这样可行吗?\n"
        "如果有更适合贵司的安排,也请直接告诉我,我们一起定一个能做到的日期。",
    ),
    (
        "TECHNICAL",
        "cooperative",
        "en",
        "Technical · cooperative: a hypothetical offer",
        "Hello {{ contact_name }}, this is {{ collector_name }}.\n"
        "We would like to help you through this. If half were paid this month and the rest next month, I "
        "could ask for reminders to pause and for your current terms to stay as they are. Would that work?\n"
        "If another arrangement suits you better, tell me and we will fix dates you can keep.",
    ),
    (
        "COMPETITIVE",
        "",
        "zh-hans",
        "竞争性欠款:争取优先付款",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "我们知道贵司的供应商不少,但发票 {{ invoice_numbers }} 合计 {{ amount_overdue }},"
        "已逾期 {{ days_overdue }} 天,请优先安排我们这一笔。\n"
        "如果本周内全额付清,下一批订单我们保持原价和账期、优先发货;"
        "在付清之前,新订单只能暂停(前帐未清,不谈下回交易)。\n"
        "请告诉我全额到账的日期,不接受部分付款。",
    ),
    (
        "COMPETITIVE",
        "",
        "en",
        "Competitive: be the supplier they pay first",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "We know you have many suppliers, but invoices {{ invoice_numbers }}, {{ amount_overdue }} in total, "
        "are {{ days_overdue }} days overdue and we ask you to pay us first.\n"
        "If the full amount is paid this week, your next order keeps its price and terms and ships first; "
        "until it is paid, new orders are on hold.\n"
        "Please tell me the date the full amount will arrive; a part payment does not settle it.",
    ),
    (
        "COMPETITIVE",
        "hard_line",
        "zh-hans",
        "竞争性欠款 · 强硬型:只讲事实,不争辩",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "事实很清楚:发票 {{ invoice_numbers }},合计 {{ amount_overdue }},逾期 {{ days_overdue }} 天,"
        "贵司没有提出过任何异议。\n"
        "我们的要求只有一个:给出全额付款日期。到期未付,合同约定的利息开始计算,新订单暂停。\n"
        "(语气平稳,不争辩;对方强硬时先停顿,再重复事实和要求。)",
    ),
    (
        "COMPETITIVE",
        "hard_line",
        "en",
        "Competitive · hard-line: facts only, no argument",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "The facts are plain: invoices {{ invoice_numbers }}, {{ amount_overdue }} in total, {{ days_overdue }} "
        "days overdue, and no objection was ever raised.\n"
        "We ask one thing: the date of full payment. Past that date contract interest runs and new orders "
        "are on hold.\n"
        "(Stay calm and do not argue; when they push back, pause, then repeat the facts and the request.)",
    ),
    (
        "REASON_BASED",
        "",
        "zh-hans",
        "原由性欠款:先解决问题,再谈付款",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "我们了解到贵司对这批货物或服务有意见,先向您致歉。请把具体问题告诉我:"
        "涉及哪张发票、什么问题、希望怎么处理?\n"
        "我们的主管会亲自跟进,在约定的日期前给您答复;问题解决后,请按更正后的金额安排付款。\n"
        "没有异议的发票({{ invoice_numbers }} 中其余部分)请照常付款。",
    ),
    (
        "REASON_BASED",
        "",
        "en",
        "Reason-based: resolve the complaint first",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "We understand you are unhappy with the goods or the service, and we are sorry. Please tell me "
        "exactly what is wrong: which invoice, what the problem is, and what would put it right.\n"
        "Our manager will follow it up personally and answer you by the date we agree; once it is resolved, "
        "please pay the corrected amount.\n"
        "Invoices that are not in question (among {{ invoice_numbers }}) should be paid as usual.",
    ),
    (
        "UNDETERMINED",
        "",
        "zh-hans",
        "原因未明:先问清原因",
        "{{ contact_name }}您好,我是{{ company_name }}的{{ collector_name }}。\n"
        "贵司的发票 {{ invoice_numbers }} 合计 {{ amount_overdue }},已于 {{ oldest_due_date }} 到期,"
        "目前还没有收到款项。\n"
        "想确认一下:是付款流程上的疏漏,对货物或服务有意见,还是资金安排上有困难?\n"
        "请告诉我全额付款的日期,我会记下并按时跟进。",
    ),
    (
        "UNDETERMINED",
        "",
        "en",
        "Undetermined: find the cause first",
        "Hello {{ contact_name }}, this is {{ collector_name }} from {{ company_name }}.\n"
        "Invoices {{ invoice_numbers }}, {{ amount_overdue }} in total, fell due on {{ oldest_due_date }} and "
        "we have not received payment.\n"
        "Could you tell me why: an oversight in the payment run, a problem with the goods or service, or a "
        "cash question?\n"
        "Please give me the date of full payment; I will note it and follow up on that day.",
    ),
)


def scripts_install_defaults(*, script_model: Any) -> int:
    """Create the shipped scripts that do not exist yet; never touch existing (edited) ones.

    Takes the model class so that a data migration can pass its historical model.
    """
    existing = set(script_model.objects.values_list("debtor_type", "personality", "language"))
    new = [
        script_model(
            debtor_type=debtor_type,
            personality=personality,
            language=language,
            title=title,
            body=body,
            is_shipped_default=True,
        )
        for debtor_type, personality, language, title, body in SHIPPED_SCRIPTS
        if (debtor_type, personality, language) not in existing
    ]
    script_model.objects.bulk_create(new)
    return len(new)
