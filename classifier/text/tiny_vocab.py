"""A small vocab with the layout of Google's Chinese vocab.txt, for tiny checkpoints and tests."""

from __future__ import annotations

from collections.abc import Iterable

from classifier.text.basic import BasicTokenizer
from classifier.text.chars import is_chinese_char

# Frequent simplified characters plus the words of common Chinese news-classification labels.
COMMON_CJK = (
    "的一是不了人我在有他这为之大来以个中上们到说国和地也子时道出而要于就下得可你年生自会那后能对着"
    "事其里所去行过家十用发天如然作方成者多日都三小军二无同么经法当起与好看学进种将还分此心前面又定见"
    "只主没公从知使点样手已长两现实开部明高很意理体本加正新外问机全力最相关电工重动比物战些业表因它并"
    "提情制气命系西性合白但员量运车口认期数路产程题接各身品义特统向教位连反原直度打片住东南北区平四五"
    "六七八九百千万亿元角分钱第次门头水火山石田土木金银铁花草树鸟鱼马牛羊猪狗猫虫风雨雪云电光明暗早晚"
    "春夏秋冬年月日星期周今昨明天上下左右前后里外内中大小多少高低长短远近快慢新旧好坏美丑真假对错爱恨"
    "喜欢笑哭吃喝睡走跑跳飞游唱读写听说看想问答买卖借还送给拿放开关进出来去回到在做用找等叫让请谢"
    "股票基金财经银行投资市场价格涨跌公司企业经济金融房产地产楼盘租售教育学校老师学生考试大学高中"
    "体育足球篮球比赛冠军球队球员联赛世界杯奥运娱乐电影明星歌手音乐演员导演节目综艺游戏玩家手机电脑"
    "科技网络互联软件数据智能芯片时尚服装美容设计彩票中奖号码星座运势社会新闻警方事故法院政府政策国家"
    "城市乡村农业工业环境健康医院医生药病疫情汽车交通旅游文化历史艺术书籍作品故事生活家庭孩子父母朋友"
    "非常特别一般可能应该必须已经正在将要曾经还是或者而且但是因为所以如果虽然即使无论于是然后最后"
)

FULL_WIDTH_PUNCTUATION = "，。！？、；：“”‘’《》【】（）…—·「」『』〈〉～￥％＠＃＆＊"
FULL_WIDTH_ALNUM = "ａｂｃｄｅ０１２３４５６７８９"

ENGLISH_PIECES = (
    "the",
    "and",
    "of",
    "to",
    "in",
    "is",
    "it",
    "for",
    "on",
    "with",
    "ip",
    "##hone",
    "##ad",
    "nba",
    "cba",
    "cctv",
    "app",
    "ai",
    "bert",
    "google",
    "apple",
    "hello",
    "world",
    "cafe",
    "naive",
    "http",
    "https",
    "www",
    "com",
    "cn",
    "org",
    "html",
    "email",
    "test",
    "un",
    "##aff",
    "##able",
    "play",
    "##ing",
    "##ed",
    "##er",
    "##s",
    "##es",
    "##ly",
    "##tion",
    "##ll",
    "##o",
    "##e",
    "##a",
    "##i",
    "##t",
    "##n",
    "##r",
    "##y",
    "mp3",
    "4g",
    "5g",
    "wifi",
    "ok",
    "vs",
)
NUMBER_PIECES = (
    "10",
    "11",
    "12",
    "20",
    "30",
    "50",
    "100",
    "1000",
    "2008",
    "2010",
    "2018",
    "2019",
    "2020",
    "2021",
    "2022",
    "2023",
    "2024",
    "##00",
    "##000",
    "##10",
    "##20",
    *(f"##{d}" for d in range(10)),
)


def tiny_chinese_vocab(extra_texts: Iterable[str] = ()) -> list[str]:
    """Specials, ASCII, full-width punctuation, CJK characters (with "##" twins), English and
    number pieces, then every character met in ``extra_texts`` (as the tokenizer sees it, in
    both casings) so that test texts tokenize without [UNK] where a real vocab would manage."""
    tokens: list[str] = ["[PAD]", *(f"[unused{i}]" for i in range(1, 100))]
    tokens += ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    tokens += [chr(cp) for cp in range(33, 127)]
    tokens += list(FULL_WIDTH_PUNCTUATION) + list(FULL_WIDTH_ALNUM)
    cjk = list(dict.fromkeys(COMMON_CJK))
    tokens += cjk
    tokens += list(ENGLISH_PIECES) + list(NUMBER_PIECES)
    tokens += [f"##{c}" for c in cjk]
    for text in extra_texts:
        for lower in (True, False):
            for word in BasicTokenizer(do_lower_case=lower).tokenize(text):
                tokens.append(word[0])
                tokens += [f"##{c}" for c in word[1:]]
                if is_chinese_char(ord(word[0])):
                    tokens.append(f"##{word[0]}")
    return list(dict.fromkeys(tokens))
