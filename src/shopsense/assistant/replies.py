"""The grounded reply templates, in English and Chinese. Every number, name and status in a reply is
filled in from retrieved facts; the wording around them is fixed here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shopsense.text.generator import Facts

TEMPLATES: dict[str, tuple[str, str]] = {
    "greeting": ("Hello! I can help you find a product, check an order or answer questions about delivery, "
                 "returns and payments. What are you looking for?",
                 "您好！我可以帮您找商品、查询订单，或解答配送、退货和付款方面的问题。请问您想找什么？"),
    "thanks": ("You're welcome! Is there anything else I can help with?", "不客气！还有什么可以帮您的吗？"),
    "results": ("Here is what we have for {what}:\n{lines}\n{question}",
                "为{what}找到的商品：\n{lines}\n{question}"),
    "results_personal": ("For {what}, and going by what you've bought before, you may like:\n{lines}\n{question}",
                         "根据{what}的需求和之前的购买，您可能会喜欢：\n{lines}\n{question}"),
    "not_carried": ("Sorry, we don't sell {what}. The closest things we have are:\n"
                    "{lines}\nWould any of these help, or shall I look for something else?",
                    "抱歉，我们店没有{what}。最接近的商品有：\n{lines}\n这些合适吗？或者我帮您找找别的？"),
    "nothing_found": ("Sorry, I couldn't find anything matching {what}{constraint}. Could you tell me more, "
                      "or try a different budget?",
                      "抱歉，没有找到符合{what}{constraint}的商品。能再具体说说吗？或者换个预算试试？"),
    "not_interested": ("Sorry those weren't right for you; I won't show them again. {question}\n"
                       "Meanwhile, here are some different ideas:\n{lines}",
                       "抱歉这些不合您的心意，我不会再推荐它们了。{question}\n先看看这些不同的选择：\n{lines}"),
    "not_interested_empty": ("Sorry those weren't right for you; I won't show them again. {question}",
                             "抱歉这些不合您的心意，我不会再推荐它们了。{question}"),
    "narrow_question": ("Who is it for, and roughly what budget do you have in mind?",
                        "请问是给谁买的？大概预算是多少？"),
    "narrow_budget": ("What budget do you have in mind?", "大概预算是多少？"),
    "narrow_theme": ("Is there something they love, such as dinosaurs, trains or unicorns?",
                     "孩子有没有特别喜欢的，比如恐龙、火车或独角兽？"),
    "guide_results": ("Here are {what}:\n{lines}\n{question}", "为您找到的商品（{what}）：\n{lines}\n{question}"),
    "relaxed_budget": ("There is nothing {limit} that fits; the cheapest {what} are:\n{lines}\n"
                       "Would one of these do, or shall I look for something else?",
                       "没有{limit}的合适商品；最便宜的{what}是：\n{lines}\n这些可以吗？或者我帮您找找别的？"),
    "relaxed_type": ("We don't have {what} right now; here are other {other}:\n{lines}\n"
                     "Would one of these do?", "暂时没有{what}；可以看看这些{other}：\n{lines}\n这些合适吗？"),
    "nothing_more": ("That is everything we have for {what}{constraint}. Shall I look for something else?",
                     "{what}{constraint}就只有这些了。要不要我帮您找找别的？"),
    "nothing_cheaper": ("Those are the cheapest {what} we have. Shall I look for something else?",
                        "这些已经是最便宜的{what}了。要不要我帮您找找别的？"),
    "ordinal_missing": ("I only showed {count} item(s) just now. Which one do you mean?",
                        "刚才只列出了{count}件商品，请问您指的是哪一件？"),
    "basket": ("I can't change your basket from the chat: open the product's page and press Add to basket, "
               "then check out from the basket at the top of the page.",
               "我无法在聊天中修改购物车：请打开商品页面点击“加入购物车”，然后在页面顶部的购物车中结算。"),
    "faq_other_language": ("{answer}\n(Source: {title}; this answer is only available in {language}.)",
                           "{answer}\n（来源：{title}；本店的这条说明只有{language}版本。）"),
    "item": ("{title} costs {price}.{rating}{age}{highlight}", "{title}，售价{price}。{rating}{age}{highlight}"),
    "item_rating": (" Reviewers give it {average} out of 5 ({count} reviews, {positive}% positive).",
                    "评价平均{average}分（共{count}条评价，{positive}%好评）。"),
    "item_no_reviews": (" It has no reviews yet.", "暂时还没有评价。"),
    "item_age": (" Recommended age: {age}.", "建议年龄：{age}。"),
    "item_highlight": (' One reviewer wrote: "{quote}"', "一位买家评价：“{quote}”"),
    "which_item": ("Which product do you mean? Tell me its name, or ask me to find something first.",
                   "请问您指的是哪件商品？可以告诉我名称，或者先让我帮您找找。"),
    "order_sign_in": ("To look up an order I need to know it's yours: please sign in and ask again.",
                      "为了保护您的隐私，查询订单需要先登录，登录后请再问我一次。"),
    "order_not_found": ("I can't find order {order_id} on your account. Please check the number; I can only "
                        "show orders placed from this account.",
                        "您的账户下没有找到订单{order_id}。请核对订单号；我只能查询本账户的订单。"),
    "order_none": ("I can't see any orders on your account yet.", "您的账户下暂时没有订单。"),
    "order_status": ("Order {order_id} ({title}): {status}, last updated {updated}.",
                     "订单{order_id}（{title}）：{status}，最近更新于{updated}。"),
    "order_recent": ("Your most recent orders:\n{lines}", "您最近的订单：\n{lines}"),
    "order_cancel_open": ("Order {order_id} is still {status}, so it can be cancelled free of charge before it is "
                          "dispatched. {how}", "订单{order_id}目前{status}，发货前可以免费取消。{how}"),
    "order_cancel_late": ("Order {order_id} is already {status}, so it can no longer be cancelled; you can return "
                          "it instead. {how}", "订单{order_id}已{status}，无法取消，您可以在收货后申请退货。{how}"),
    "order_cancel_done": ("Order {order_id} is already {status}; there is nothing left to cancel.",
                          "订单{order_id}已{status}，无需再取消。"),
    "arrival_processing": ("Order {order_id} ({title}) is still {status}: it has not left our warehouse yet. Once "
                           "it is dispatched it arrives with the delivery you chose. {rule}",
                           "订单{order_id}（{title}）目前{status}，还没有从仓库发出；发货后按您选择的配送方式送达。{rule}"),
    "arrival_shipped": ("Order {order_id} ({title}) was shipped (last updated {updated}); the tracking link is in "
                        "your dispatch e-mail. {rule}",
                        "订单{order_id}（{title}）已于{updated}发货，物流链接在发货邮件里。{rule}"),
    "arrival_delivered": ("Order {order_id} ({title}) was delivered (last updated {updated}). If you can't find "
                          "it, tell me and I'll pass you to a colleague.",
                          "订单{order_id}（{title}）已于{updated}签收。如果没有收到，请告诉我，我为您转接人工客服。"),
    "arrival_other": ("Order {order_id} ({title}) is {status} (last updated {updated}), so no delivery is on its way.",
                      "订单{order_id}（{title}）{status}（更新于{updated}），不会再配送。"),
    "faq": ("{answer}\n(Source: {title})", "{answer}\n（来源：{title}）"),
    "dont_know": ("I'm not sure about that one. I can help with products, orders, delivery, returns and payments, "
                  "or pass you to a colleague. Would you like that?",
                  "这个问题我不太确定。我可以帮您找商品、查订单、解答配送退货和付款问题，也可以为您转接人工客服，需要吗？"),
    "out_of_scope": ("I'm the shop's assistant, so I can't help with that, but I'm happy to help you find a "
                     "product, check an order or answer questions about delivery and returns.",
                     "我是本店的购物助手，这个问题帮不上忙；不过我可以帮您找商品、查订单或解答配送和退货问题。"),
    "handover": ("I'm passing you to a member of our customer service team (ticket {ticket_id}). They will see "
                 "this conversation, so you won't need to repeat yourself.",
                 "已为您转接人工客服（工单号{ticket_id}）。客服会看到我们的对话记录，您无需重复说明。"),
    "handover_open": ("A colleague already has your ticket {ticket_id} and will reply soon.",
                      "您的工单{ticket_id}已由客服跟进，请稍候。"),
}

STATUS_ZH = {"processing": "处理中", "shipped": "已发货", "delivered": "已签收", "cancelled": "已取消",
             "refunded": "已退款"}


def say(key: str, language: str, **values: Any) -> str:
    english, chinese = TEMPLATES[key]
    return (chinese if language == "zh" else english).format(**values)


def money(price: float | None, currency: str | None = "GBP") -> str:
    if price is None:
        return "price on request"
    symbol = {"GBP": "£", "USD": "$", "EUR": "€", "CNY": "¥"}.get((currency or "GBP").upper())
    return f"{symbol}{price:.2f}" if symbol else f"{price:.2f} {currency}"


def status_word(status: str, language: str) -> str:
    return STATUS_ZH.get(status, status) if language == "zh" else status


@dataclass
class Draft:
    """An action's outcome before phrasing: the template text and the facts it was built from."""

    action: str
    text: str
    facts: Facts = field(default_factory=Facts)
    items: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    failed: bool = False
    escalate: str | None = None
