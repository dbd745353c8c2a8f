"""Chinese shopping words and their English catalog terms, for querying an English catalog in Chinese.

The multilingual encoder alone maps short Chinese queries onto English product text only loosely;
adding the English terms of the words we know to the query makes both the lexical and the dense side
find the right products. Unknown words are left to the multilingual encoder.
"""

from __future__ import annotations

ZH_EN: dict[str, str] = {
    "玩具": "toy", "拼图": "jigsaw puzzle", "积木": "building blocks", "乐高": "lego", "娃娃": "doll",
    "洋娃娃": "doll", "芭比": "barbie", "毛绒": "plush soft toy", "毛绒玩具": "plush soft toy",
    "公仔": "figure", "手办": "figure", "人偶": "action figure", "恐龙": "dinosaur", "火车": "train",
    "小火车": "toy train", "轨道": "track", "汽车": "car", "小汽车": "toy car", "遥控": "remote control",
    "遥控车": "remote control car", "遥控飞机": "remote control helicopter", "无人机": "drone",
    "飞机": "plane", "直升机": "helicopter", "船": "boat", "赛车": "racing car", "模型": "model kit",
    "桌游": "board game", "棋": "board game", "象棋": "chess", "国际象棋": "chess", "扑克": "playing cards",
    "卡牌": "card game", "游戏": "game", "益智": "educational puzzle", "早教": "educational",
    "绘画": "painting art", "画画": "painting drawing", "蜡笔": "crayons", "彩笔": "colouring pens",
    "涂色": "colouring", "手工": "craft", "贴纸": "stickers", "橡皮泥": "play dough", "黏土": "clay",
    "气球": "balloons", "派对": "party", "生日": "birthday", "礼物": "gift", "圣诞": "christmas",
    "万圣节": "halloween", "服装": "costume", "化装": "fancy dress costume", "面具": "mask",
    "枪": "blaster gun", "水枪": "water gun", "泡泡": "bubbles", "球": "ball", "足球": "football",
    "篮球": "basketball", "风筝": "kite", "滑板": "skateboard", "滑板车": "scooter", "自行车": "bike",
    "帐篷": "tent", "沙滩": "beach", "沙子": "sand", "厨房": "kitchen", "过家家": "pretend play",
    "医生": "doctor", "工具": "tool set", "乐器": "musical instrument", "鼓": "drum", "钢琴": "piano",
    "吉他": "guitar", "口琴": "harmonica", "木琴": "xylophone", "书": "book", "故事": "story",
    "魔术": "magic", "科学": "science", "实验": "experiment", "望远镜": "telescope", "显微镜": "microscope",
    "机器人": "robot", "电池": "batteries", "木制": "wooden", "木头": "wooden", "塑料": "plastic",
    "婴儿": "baby", "宝宝": "baby", "幼儿": "toddler", "儿童": "kids children", "孩子": "kids children",
    "男孩": "boys", "女孩": "girls", "公主": "princess", "超级英雄": "superhero", "蜘蛛侠": "spiderman",
    "蝙蝠侠": "batman", "星球大战": "star wars", "小马": "pony", "马": "horse", "动物": "animal",
    "农场": "farm", "猫": "cat", "狗": "dog", "熊": "bear", "泰迪熊": "teddy bear", "兔子": "rabbit",
    "独角兽": "unicorn", "龙": "dragon", "鲨鱼": "shark", "鱼": "fish", "蝴蝶": "butterfly",
    "城堡": "castle", "房子": "house", "娃娃屋": "dolls house", "车库": "garage", "消防车": "fire engine",
    "警车": "police car", "挖掘机": "digger", "卡车": "truck", "太空": "space", "火箭": "rocket",
    "衣服": "clothes", "裤子": "trousers", "鞋": "shoes", "帽子": "hat", "包": "bag", "书包": "backpack",
    "裙子": "dress skirt", "外套": "coat jacket", "衬衫": "shirt", "袜子": "socks", "手套": "gloves",
    "冰箱": "fridge refrigerator", "洗衣机": "washing machine", "电视": "television", "手机": "mobile phone",
    "电脑": "computer laptop", "沙发": "sofa", "床": "bed", "椅子": "chair", "桌子": "table", "灯": "lamp light",
    "手表": "watch", "耳机": "headphones", "相机": "camera", "化妆品": "makeup cosmetics", "香水": "perfume",
    "便宜": "cheap", "红色": "red", "蓝色": "blue", "粉色": "pink", "黑色": "black", "绿色": "green",
}


# Shop-service words, for finding the answer to a Chinese question in an English FAQ.
ZH_EN_SERVICE: dict[str, str] = {
    "运费": "shipping cost", "邮费": "shipping cost", "包邮": "free shipping", "配送": "delivery",
    "快递": "delivery courier", "发货": "dispatch shipping", "到货": "delivery arrive", "多久": "how long",
    "几天": "how many days", "退货": "return", "退款": "refund", "换货": "exchange", "退换": "return exchange",
    "付款": "payment", "支付": "payment", "付款方式": "payment methods", "发票": "invoice", "账户": "account",
    "账号": "account", "注册": "create account", "密码": "password", "取消": "cancel", "订单": "order",
    "地址": "address", "收货地址": "shipping address", "保修": "warranty", "坏了": "damaged faulty",
    "损坏": "damaged", "优惠券": "discount code", "折扣": "discount", "会员": "membership",
    "客服": "customer service", "联系": "contact", "礼品卡": "gift card", "订阅": "newsletter subscription",
}


def expand_chinese_query(query: str, glossary: dict[str, str] | None = None) -> str:
    """The query followed by the English terms of every glossary word it contains (longest first)."""
    glossary = ZH_EN if glossary is None else glossary
    found: list[str] = []
    remaining = query
    for word in sorted(glossary, key=len, reverse=True):
        if word in remaining:
            found.append(glossary[word])
            remaining = remaining.replace(word, " ")
    return f"{query} {' '.join(found)}" if found else query
