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

  'generator.open': 'Config Üreteci',
  'generator.openHint': 'Ortam dosyalarını, Django ayarlarını, nginx ve Procfile’ı kovan.toml’dan üret',
  'generator.title': 'Config Üreteci',
  'generator.root': 'Dosyaların yazılacağı Django kök dizini',
  'generator.close': 'Kapat',
  'generator.loading': 'Dosyalar diskteki hâlleriyle karşılaştırılıyor…',
  'generator.loadFailed': 'Üretilecek dosyalar hazırlanamadı',
  'generator.retry': 'Tekrar dene',
  'generator.empty': 'Bu çalışma alanı için üretilecek dosya yok.',
  'generator.files': 'Üretilecek dosyalar',
  'generator.refreshing': 'Liste yenileniyor…',

  'generator.group.envFile': 'Ortam dosyaları',
  'generator.group.settings': 'Django ayarları',
  'generator.group.djangoApp': 'Kovan Django uygulaması',
  'generator.group.nginx': 'nginx',
  'generator.group.procfile': 'Procfile',

  'generator.status.new': 'Yeni',
  'generator.status.unchanged': 'Değişmedi',
  'generator.status.changed': 'Değişti',
  'generator.status.edited': 'Elle düzenlenmiş — yedeklenecek',
  'generator.statusHint.new': 'Diskte henüz yok; yazıldığında oluşturulur.',
  'generator.statusHint.unchanged': 'Diskteki dosya, Kovan’ın yazacağıyla birebir aynı.',
  'generator.statusHint.changed':
    'Bu dosyayı Kovan daha önce yazmış; kovan.toml o zamandan beri değişti. Yazıldığında Kovan’ın yeni sürümüyle değiştirilir.',
  'generator.statusHint.edited':
    'Bu dosya Kovan’ın yazdığı hâlinden farklı: elle düzenlenmiş ya da Kovan dışında oluşturulmuş. Yazıldığında önce yedeği alınır, sonra içeriği Kovan’ın sürümüyle değiştirilir; sizin değişiklikleriniz yalnızca yedekte kalır.',

  'generator.summary.new': '{count} yeni',
  'generator.summary.changed': '{count} değişti',
  'generator.summary.edited': '{count} elle düzenlenmiş',
  'generator.summary.unchanged': '{count} değişmedi',
  'generator.summary.modeOnly': '{count} dosyanın izni farklı',
  'generator.summary.upToDate': 'Bütün dosyalar güncel.',

  'generator.mode': 'İzin',
  'generator.diskMode': 'diskte {mode}',
  'generator.diskModeHint': 'Dosyanın diskteki izni {disk}, Kovan’ın yazdığı izin {mode}. Yazıldığında izin {mode} yapılır.',
  'generator.secrets': 'Gizli anahtarlar içerir (SECRET_KEY, KOVAN_TOKEN); önizlemede maskelenir.',
  'generator.masked': 'Gizli değerler burada maskelendi; dosyaya gerçek değerler yazılır.',
  'generator.select': '{path} yazılsın',

  'generator.preview': 'Önizleme',
  'generator.previewOf': '{path} önizlemesi',
  'generator.noPreview': 'Önizlemek için soldan bir dosya seçin.',
  'generator.tab.diff': 'Fark',
  'generator.tab.contents': 'İçerik',
  'generator.diffLegend': '− diskteki satır, + Kovan’ın yazacağı satır',
  'generator.emptyFile': 'Bu dosya boş.',

  'generator.write': 'Seçilenleri yaz ({count})',
  'generator.writing': 'Yazılıyor…',
  'generator.writeNothing': 'Yazılacak dosyaları soldan seçin.',
  'generator.backupWarning.one': 'Elle düzenlenmiş {count} dosyanın önce yedeği alınacak, sonra üzerine yazılacak.',
  'generator.backupWarning.other': 'Elle düzenlenmiş {count} dosyanın önce yedeği alınacak, sonra üzerlerine yazılacak.',
  'generator.writeFailed': 'Dosyalar yazılamadı',
  'generator.writeFailedHint': 'Bir kısmı yazılmış olabilir; liste diskteki son duruma göre yenilendi.',
  'generator.result.written.one': '{count} dosya yazıldı',
  'generator.result.written.other': '{count} dosya yazıldı',
  'generator.result.unchanged': '{count} dosya zaten günceldi',
  'generator.result.backup': 'yedek: {path}',
  'generator.result.dismiss': 'Sonucu gizle',

  'generator.export': 'Env dosyalarını dışa aktar',
  'generator.exportHint':
    'Her instance’ın ortam dosyasını seçtiğiniz klasöre 0600 izniyle yazar. Orada farklı bir dosya varsa önce yedeği alınır.',
  'generator.exportTitle': 'Env dosyalarının yazılacağı klasörü seçin',
  'generator.exporting': 'Dışa aktarılıyor…',
  'generator.exportFailed': 'Env dosyaları dışa aktarılamadı',
  'generator.exported.one': '{count} env dosyası dışa aktarıldı',
  'generator.exported.other': '{count} env dosyası dışa aktarıldı',
  'generator.exportSecrets':
    'Bu dosyalar gizli anahtarlar içerir (SECRET_KEY, KOVAN_TOKEN) ve yalnızca sizin okuyabileceğiniz izinle (0600) yazıldı. Paylaşırken dikkatli olun; sürüm kontrolüne eklemeyin.',
} as const;

export type MessageKey = keyof typeof tr;
