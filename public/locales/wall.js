// The wall display (public/wall.html, wall.js).

/** @type {import('../i18n.js').Dictionary} */
export default {
  en: {
    'wall.pageTitle': 'Campus live · wall',
    'wall.title': 'Campus live',
    'wall.noToken': 'This screen has no display token. An admin mints one (POST /api/display-tokens) and opens /wall#token=… here.',
    'wall.revoked': 'This screen’s display token was revoked or is unknown. Ask an admin for a new one.',
    'wall.waiting': 'Waiting for the live feed…',
    'wall.noRooms': 'No dormitories in this view.',
    'wall.page': '{page} / {pages}',
    'wall.rooms': '{count} rooms',
    'wall.power': '{power} now',
    'wall.lastUpdate': 'last update {time}',
    'wall.floor': 'F{floor}',
    'wall.noAlarms': 'No critical alarms',
    'wall.gateway': 'gateway {gateway}',
    'wall.campus': 'campus',
    'wall.alarmsTitle': 'Alarms',
  },
  'zh-CN': {
    'wall.pageTitle': '校园实时 · 大屏',
    'wall.title': '校园实时',
    'wall.noToken': '此屏幕没有显示令牌。请管理员签发（POST /api/display-tokens）并在此打开 /wall#token=…。',
    'wall.revoked': '此屏幕的显示令牌已被吊销或无效，请向管理员申请新的令牌。',
    'wall.waiting': '正在等待实时数据…',
    'wall.noRooms': '此视图中没有宿舍。',
    'wall.page': '{page} / {pages}',
    'wall.rooms': '{count} 间',
    'wall.power': '当前 {power}',
    'wall.lastUpdate': '最后更新 {time}',
    'wall.floor': '{floor} 层',
    'wall.noAlarms': '无严重报警',
    'wall.gateway': '网关 {gateway}',
    'wall.campus': '全校',
    'wall.alarmsTitle': '报警',
  },
};
