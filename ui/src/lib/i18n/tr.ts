// Türkçe: Kovan'ın ana dili. Every user-visible string of the window lives here and in en.ts.
// Placeholders are written {name} and filled by t(key, { name }).
export const tr = {
  'app.name': 'Kovan',
  'app.tagline': 'Django instance paneli',
  'app.loading': 'kovan.toml okunuyor…',
  'app.crashed': 'Pencere çizilirken bir hata oluştu',
  'app.crashedHint': 'Bu bir Kovan hatası. Yeniden yüklemeyi deneyin; sürerse hatayı bildirin.',

  'header.workspace': 'Çalışma alanı',
  'header.file': 'Çalışma alanı dosyası',
  'header.settings': 'Ayarlar modülü',
  'header.redis': 'Redis',
  'header.redisNone': 'tanımlı değil',
  'header.redisManaged': 'yönetilen',
  'header.redisManagedHint':
    'managed = true: Bu adreste yanıt veren bir Redis yoksa Kovan redis-server’ı kendisi başlatır.',
  'header.redisExternal': 'harici',
  'header.redisExternalHint': 'managed = false: Kovan bu Redis sunucusunu başlatmaz; çalışıyor olması gerekir.',

  'action.reload': 'Yeniden yükle',
  'action.reloading': 'Yükleniyor…',
  'action.reloadHint': 'kovan.toml dosyasını diskten yeniden oku',

  'lang.switchLabel': 'İngilizceye geç',
  'lang.switchShort': 'EN',

  'presets.title': 'Hazır ayarlar',
  'presets.none': 'Hazır ayar tanımlı değil.',

  'instances.title': 'Instance’lar',
  'instances.count': '{count} instance',
  'instances.none': 'Bu çalışma alanında tanımlı instance yok.',

  'role.main': 'Ana sunucu',
  'role.api': 'API',
  'role.websocket': 'WebSocket',

  'status.label': 'Durum',
  'status.stopped': 'Durduruldu',

  'card.port': 'Port',
  'card.role': 'Rol',
  'card.database': 'Veritabanı',
  'card.sessionCookie': 'Oturum çerezi',
  'card.csrfCookie': 'CSRF çerezi',
  'card.cache': 'Cache',
  'card.cacheTimeout': '{seconds} sn zaman aşımı',
  'card.cachePrefix': 'Cache öneki',
  'card.cacheLocation': 'Cache konumu',
  'card.staticRoot': 'Statik dosya dizini',
  'card.mediaRoot': 'Medya dizini',
  'card.envFile': 'Ortam dosyası',
  'card.logFile': 'Log dosyası',

  'error.title.notFound': 'kovan.toml bulunamadı',
  'error.title.unreadable': 'kovan.toml okunamadı',
  'error.title.invalid': 'kovan.toml geçersiz',
  'error.title.other': 'kovan.toml yüklenemedi',
  'error.title.backend': 'Çalışma alanı yüklenemedi',
  'error.file': 'Dosya',
  'error.problemCount': 'Bulunan sorun sayısı: {count}',
  'error.problems': 'Sorunlar',
  'error.field': 'Alan',
  'error.line': 'Satır {line}',
  'error.fix': 'Çözüm',
  'error.kind': 'Hata türü',
  'error.retryHint': 'Dosyayı düzeltin, sonra “Yeniden yükle” düğmesine basın.',
  'error.retryHintCreate': 'kovan.toml dosyasını oluşturun, sonra “Yeniden yükle” düğmesine basın.',
  'error.noBackend':
    'Bu sayfa Kovan uygulamasının penceresi dışında açılmış; soracak bir Kovan arka ucu yok. Kovan’ı masaüstü uygulaması olarak başlatın.',
} as const;

export type MessageKey = keyof typeof tr;
