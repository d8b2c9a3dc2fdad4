"""The yardstick: a bare FastAPI endpoint answering a JSON body of the same size, with no work behind it."""

from fastapi import FastAPI

app = FastAPI()
BODY = {
    "status": "valid", "badge_no": "NJ0000000000", "name": "张伟", "agency": "玄武区城市管理局",
    "command_agency": "玄武区新街口街道办事处", "photo_url": "/api/public/photos/NJ0000000000",
    "independent_duties": [{"code": "patrol", "name": "巡查责任区，及时发现、劝阻违法行为并上报"}],
    "assisted_duties": [{"code": "inspection", "name": "协助开展行政检查、现场核查、调查取证"}],
    "notice": "行政执法辅助人员不具有独立的执法资格。", "checked_at": "2026-11-26T08:00:00Z",
}


@app.get("/bare/{token}")
def bare(token: str) -> dict[str, object]:
    return BODY


@app.get("/bare-async/{token}")
async def bare_async(token: str) -> dict[str, object]:
    return BODY
