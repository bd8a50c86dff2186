# Русский текст Parley. Каждое сообщение есть и в en.ftl (модульные тесты
# клиента сверяют оба файла друг с другом и с кодом).

language-name = Русский
decimal-separator = ,

## Рамка приложения

tagline = Личные сообщения, файлы и звонки со сквозным шифрованием — через ваш собственный ретранслятор.
version = Parley { $version }
back = Назад к разговорам
update-ready = Готова новая версия Parley.
update-reload = Перезагрузить и обновить
fatal-other-tab = Parley уже открыт в другой вкладке или окне. Пользуйтесь им или закройте его и перезагрузите эту страницу.
fatal-unreadable = Не удалось прочитать сохранённые данные: { $reason }
still-starting = Parley ещё запускается; попробуйте снова.
conn-online = Подключено
conn-connecting = Подключение…
conn-offline = Нет связи: { $reason }
conn-lost = соединение потеряно; переподключение
conn-unreachable = ретранслятор недоступен
relay-checking = Проверка ретранслятора…
relay-ready = Ретранслятор в сети
relay-degraded = Ретранслятор работает, но не готов: { $reason }
relay-degraded-unknown = причина неизвестна
relay-unreachable = Ретранслятор недоступен; повторяем попытку

## Промежутки времени

# $case: nominative (пункт меню) или accusative («через 1 неделю»).
period-seconds = { $n ->
    [one] { $n } { $case ->
        [accusative] секунду
       *[nominative] секунда
    }
    [few] { $n } секунды
   *[many] { $n } секунд
}
period-minutes = { $n ->
    [one] { $n } { $case ->
        [accusative] минуту
       *[nominative] минута
    }
    [few] { $n } минуты
   *[many] { $n } минут
}
period-hours = { $n ->
    [one] { $n } час
    [few] { $n } часа
   *[many] { $n } часов
}
period-days = { $n ->
    [one] { $n } день
    [few] { $n } дня
   *[many] { $n } дней
}
period-weeks = { $n ->
    [one] { $n } { $case ->
        [accusative] неделю
       *[nominative] неделя
    }
    [few] { $n } недели
   *[many] { $n } недель
}
duration-days = { $n } дн.
duration-hours = { $n } ч
duration-minutes = { $n } мин
duration-seconds = { $n } с
timer-off = Выключено

## Первый запуск

onboarding-title = Создайте свою личность
onboarding-hint = Ваши ключи создаются и хранятся в этом браузере. Ретранслятор их никогда не видит.
onboarding-name = Ваше имя
onboarding-invite-code = Код приглашения от администратора ретранслятора
onboarding-email = Адрес электронной почты (этот ретранслятор его запрашивает)
onboarding-send-code = Прислать код на почту
onboarding-code-sent = Шестизначный код уже в пути. Он действует 10 минут.
onboarding-email-code = Код из письма
onboarding-creating = Создание…
onboarding-create = Создать мою личность
onboarding-restore = Восстановить из резервной копии
onboarding-restore-title = Восстановление из копии
onboarding-restore-hint = Этот браузер станет новым устройством аккаунта из копии, с его контактами и историей.
onboarding-restore-file = Файл копии
onboarding-restore-with-password = Пароль
onboarding-restore-with-key = Ключ восстановления
onboarding-restore-secret-password = Пароль копии
onboarding-restore-secret-key = Ключ восстановления (дефисы и регистр не важны)
onboarding-restore-no-file = Выберите файл копии.
onboarding-restore-working = Восстановление…
onboarding-restore-button = Восстановить
onboarding-restore-back = Лучше создать новую личность
onboarding-name-missing = Выберите имя, которое увидят ваши контакты.
onboarding-relay-not-yet = Ретранслятор пока недоступен; попробуйте чуть позже.

## Список разговоров

settings-title = Настройки
signed-in-as = Вы вошли как
invite-title = Пригласить
join-title = Принять приглашение
home-empty = Разговоров пока нет. Пригласите кого-нибудь или примите чужое приглашение: отсканируйте QR-код или введите PIN.
home-conversations = Разговоры
presence-online = в сети
presence-offline = не в сети
preview-hello = Связь установлена — поздоровайтесь
unread = { $count ->
    [one] { $count } непрочитанное сообщение
    [few] { $count } непрочитанных сообщения
   *[many] { $count } непрочитанных сообщений
}

## Настройки

settings-device = Это устройство
settings-name = Имя:
settings-device-key = Ключ устройства:
settings-keys-hint = Ваши закрытые ключи хранятся только в этом браузере, зашифрованные ключом, который браузер не выдаёт наружу.
settings-language = Язык
settings-privacy = Конфиденциальность
settings-typing = Индикатор набора текста
settings-typing-hint = Контакты видят, когда вы печатаете, а вы — когда печатают они. Если выключено — ни те, ни другие.
settings-presence = Показывать, что я в сети
settings-presence-hint = Ваши контакты (и только они) видят, когда Parley открыт на этом устройстве, а вы — когда открыт у них. Если выключено — ни те, ни другие; индикатору набора это нужно с обеих сторон.
settings-backup = Резервная копия
settings-backup-hint = Зашифрованный файл с ключом аккаунта, контактами, историей и настройками (без исчезающих сообщений). Если восстановить его в другом браузере, тот станет новым устройством вашего аккаунта: разговоры продолжатся без повторного сопряжения. Кто откроет файл, получит ваш аккаунт: храните его как пароль.
settings-backup-with-password = С паролем
settings-backup-with-key = С ключом восстановления
settings-backup-password = Пароль копии
settings-backup-password-again = Тот же пароль ещё раз
settings-backup-too-short = Нужно не меньше { $min } символов.
settings-backup-mismatch = Пароли не совпадают.
settings-backup-make-key = Показать ключ восстановления
settings-backup-key-hint = Запишите этот ключ сейчас: он показывается только один раз, и без него файл не открыть.
settings-backup-key-label = Ключ восстановления
settings-backup-wrote-it = Я его записал(а)
settings-backup-download = Скачать копию
settings-backup-working = Шифрование…
settings-backup-done = Файл копии сохранён.
settings-reset = Сброс ключей личности
settings-reset-hint = Если ключи этого устройства могли попасть в чужие руки, замените их. Разговоры сохранятся; каждый контакт увидит, что ваш код безопасности изменился, и должен будет его подтвердить.
settings-reset-done = Новые ключи используются. Контактов попросят проверить ваш новый код безопасности.
settings-reset-undone = Прежний сброс не дошёл до ретранслятора и был отменён; ваши ключи не изменились. Сбросьте ещё раз, чтобы заменить их.
settings-reset-confirm = Действительно заменить ключи? Нажмите ещё раз
settings-reset-button = Сбросить ключи личности
settings-delete = Удаление аккаунта
settings-delete-hint = Стирает эту личность, её контакты и историю из браузера, а также всё, что хранит для неё ретранслятор. Отменить это нельзя.
settings-delete-confirm = Действительно удалить всё? Нажмите ещё раз
settings-delete-button = Удалить мой аккаунт

## Приглашение

invite-expired-label = Истекло
invite-expires-in = Истекает через { $time }
invite-attempts-left = Кто-то ввёл неверный код или прислал повреждённый ответ. Приглашение всё ещё действует; { $count ->
    [one] ещё { $count } неудачная попытка
    [few] ещё { $count } неудачные попытки
   *[many] ещё { $count } неудачных попыток
} — и оно закроется.
invite-new = Создать новое приглашение
invite-close-others = Закрыть их и создать новое приглашение
invite-preparing = Готовим одноразовое приглашение…
invite-hint = Пусть ваш контакт отсканирует этот код в Parley, или отправьте ему ссылку. Она срабатывает один раз.
invite-qr = QR-код приглашения
invite-link = Или отправьте эту ссылку по каналу, которому доверяете
invite-copied = Скопировано
invite-copy-refused = Копирование запрещено: выделите ссылку и скопируйте её
invite-copy = Копировать
invite-pin-label = PIN (чтобы ввести его на другом устройстве)
invite-pin = PIN для связи
invite-getting-pin = Получаем PIN…
invite-show-pin = Показать PIN
invite-waiting = Ждём ваш контакт…
join-pairing = Устанавливаем связь… не закрывайте оба экрана.
join-scan = Отсканируйте QR-код
join-scan-start = Сканировать камерой
join-scan-prompt = Наведите камеру на QR-код приглашения.
join-pin = Введите PIN
join-pin-label = PIN с другого экрана
join-pin-button = Войти по PIN
join-link = Вставьте ссылку-приглашение
join-link-label = Ссылка-приглашение
join-link-button = Войти по ссылке
scanner-preview = Изображение с камеры
scanner-stop = Выключить камеру

## Разговор

chat-verified-title = Код безопасности проверен
chat-verified = проверен
chat-typing = печатает…
chat-audio-call = Аудиозвонок
chat-video-call = Видеозвонок
chat-timer = Исчезающие сообщения
chat-delete-confirm = Действительно удалить? Нажмите ещё раз
chat-delete = Удалить разговор
chat-changed = Код безопасности контакта { $peer } изменился.
chat-changed-hint = Контакт сбросил ключи, или кто-то пытается перехватить ваши сообщения. Прежде чем что-то отправлять, сверьте с ним новый код безопасности.
chat-show-safety = Показать код безопасности
chat-allow-sending = Я сверил(а): разрешить отправку
chat-messages = Сообщения
chat-file-lifetime-before = Файлы удаляются через
chat-file-lifetime = Срок хранения файла
chat-delete-after-download = или сразу после скачивания
chat-attach = Прикрепить файл
chat-message = Сообщение
chat-placeholder = Напишите сообщение
chat-send = Отправить
chat-disappears-in = исчезнет через { $time }
chat-bytes-left = { $count ->
    [one] остался { $count } байт
    [few] осталось { $count } байта
   *[many] осталось { $count } байт
}
chat-bytes-over = { $count ->
    [one] на { $count } байт больше предела
    [few] на { $count } байта больше предела
   *[many] на { $count } байт больше предела
}
chat-too-long = Сообщение слишком длинное: { $size } байт при пределе { $max } (эмодзи, буквы с диакритикой и многие алфавиты занимают по несколько байт). Сократите его на { $over ->
    [one] { $over } байт
    [few] { $over } байта
   *[many] { $over } байт
}.
status-queued = Ожидает отправки
status-sent = Отправлено
status-delivered = Доставлено
status-read = Прочитано
safety-title = Код безопасности
safety-hint = Сравните эти цифры с экраном собеседника — лично или во время звонка — или отсканируйте код на его экране. Если они совпадают, посредника между вами нет.
safety-scan = Сканировать его код
safety-scan-prompt = Наведите камеру на код под его кодом безопасности.
safety-mark-verified = Я сравнил(а) цифры: отметить как проверенный
safety-match = Коды совпадают: отмечено как проверенный.

## События разговора

notice-paired = Связь с { $peer } установлена. Сообщения защищены сквозным шифрованием.
notice-timer-off-me = Вы выключили исчезающие сообщения.
notice-timer-off-peer = { $peer } выключил(а) исчезающие сообщения.
notice-timer-me = Вы включили исчезновение сообщений через { $period }.
notice-timer-peer = { $peer } включил(а) исчезновение сообщений через { $period }.
notice-undecryptable = Сообщение от { $peer } не удалось расшифровать ({ $why }).
notice-send-failed = Сообщение не удалось отправить: { $why }
notice-forged-keys = Ретранслятор выдал для { $peer } ключи, которые { $peer } не подписывал(а). Сообщения для { $peer } ждут; если так будет и дальше, возможно, кто-то пытается их перехватить.
notice-identity-changed = Код безопасности контакта { $peer } изменился: ключи были сброшены. Сверьте новый код, прежде чем отправлять сообщения.
notice-devices-added = { $peer } { $count ->
    [one] добавил(а) { $count } устройство
    [few] добавил(а) { $count } устройства
   *[many] добавил(а) { $count } устройств
}. Код безопасности не изменился.
notice-devices-removed = { $peer } { $count ->
    [one] удалил(а) { $count } устройство
    [few] удалил(а) { $count } устройства
   *[many] удалил(а) { $count } устройств
}.
notice-devices-changed = { $peer } добавил(а) устройства ({ $added }) и удалил(а) устройства ({ $removed }). Код безопасности не изменился.
notice-device-list-forged = Ретранслятор выдал список устройств { $peer }, не подписанный его (её) учётной записью. Сообщения для { $peer } не отправлены; возможно, кто-то пытается их перехватить.
notice-device-list-rollback = Ретранслятор выдал список устройств { $peer } старее уже полученного. Сообщения для { $peer } не отправлены; возможно, кто-то пытается их перехватить.
notice-device-list-equivocation = Ретранслятор выдал список устройств { $peer }, противоречащий уже полученному. Сообщения для { $peer } не отправлены; возможно, кто-то пытается их перехватить.

## Файлы

size-bytes = { $n } Б
size-kb = { $n } КБ
size-mb = { $n } МБ
size-gb = { $n } ГБ
progress = { $phase } { $percent } % · { $speed } МБ/с
phase-encrypting = Шифрование
phase-uploading = Загрузка
phase-downloading = Скачивание
file-deleted = Удалён из хранилища
file-deleted-in = Будет удалён из хранилища через { $time }
file-waiting = Ждём, когда { $peer } примет файл
file-peer-downloaded = { $peer } скачал(а) файл
file-peer-declined = { $peer } отклонил(а) файл
file-gone = Скачан и удалён из хранилища
file-downloaded = Скачан
file-declined = Отклонён
file-type-unknown = файл
file-metadata-removed = Геоданные и данные камеры удалены
file-accept = Принять и скачать
file-decline = Отклонить
file-preview = Предпросмотр изображения

## Звонки

call-calling = Вызов…
call-incoming-video = Входящий видеозвонок
call-incoming-audio = Входящий аудиозвонок
call-connecting = Соединение…
call-reconnecting = Восстанавливаем соединение…
call-dialog = Звонок
call-accept = Принять
call-decline = Отклонить
call-unmute = Включить микрофон
call-mute = Выключить микрофон
call-camera-on = Включить камеру
call-camera-off = Выключить камеру
call-quality = Качество
call-quality-label = Качество звонка
call-quality-low = Низкое (125 кбит/с)
call-quality-normal = Обычное (300 кбит/с)
call-quality-high = Высокое (2 Мбит/с)
call-hang-up = Завершить
call-close = Закрыть
call-ended = Звонок завершён
call-declined = Звонок отклонён
call-busy = Занят другим звонком
call-unanswered = Нет ответа
call-failed = Звонок прервался: соединение не удалось сохранить
call-failed-detail = Звонок прервался: { $detail }

## Ошибки

failure-unreachable = Ретранслятор недоступен. Проверьте подключение; Parley повторит попытку сам.
# $detail — собственное пояснение ретранслятора (на английском).
failure-refused = { $reason } Ответ ретранслятора: { $detail }
failure-unexpected = Ретранслятор прислал неожиданный ответ ({ $status }).
code-bad-request = Ретранслятор не смог разобрать запрос.
code-unauthorized = Ретранслятор не узнаёт это устройство.
code-forbidden = Ретранслятор отказал.
code-not-found = У ретранслятора этого нет.
code-conflict = Это противоречит данным ретранслятора.
code-too-large = Это больше, чем допускает ретранслятор.
code-length-mismatch = Данные пришли не полностью.
code-rate-limited = Слишком много запросов; подождите немного.
code-unavailable = Ретранслятор занят или частично не работает; попробуйте позже.
code-internal = На ретрансляторе произошёл сбой.
code-method-not-allowed = Ретранслятор этого не допускает.
code-quota-exceeded = Лимит этого устройства на ретрансляторе исчерпан.
code-other = Ретранслятор отказал.
engine-unknown-contact = Такого контакта нет.
engine-bad-text = Сообщение должно занимать от 1 до { $max } байт.
engine-bad-timer = Таймер должен быть от 1 секунды до 4 недель.
engine-corrupt = Сохранённые данные повреждены.
engine-session = Сообщение не удалось зашифровать.
engine-bad-bundle = Ключи контакта, полученные от ретранслятора, недействительны.
engine-identity-changed = Код безопасности изменился: сверьте его и подтвердите, прежде чем отправлять.
engine-offline = Нет подключения к ретранслятору.
engine-no-session = Контакт ещё не завершил установку связи.
engine-not-settled = Дождитесь, пока все сообщения отправятся и Parley подключится, и попробуйте снова.
engine-no-account = У этого устройства ещё нет учётной записи; сначала подключитесь к ретранслятору.
engine-account = Ключ учётной записи или список устройств недействителен.
engine-not-listed = Список устройств учётной записи не включает это устройство.
engine-reset-pending = Сброс ключей уже идёт; он будет завершён.
account-bad-challenge = Ретранслятор прислал недействительный запрос подтверждения.
account-reset-unanswered = { $failure } Попробуйте снова: сначала сброс будет завершён или отменён.
account-busy = Уже выполняется другой запрос аккаунта; попробуйте чуть позже.
session-storage = Parley не смог сохранить своё состояние. Перезагрузите Parley, чтобы продолжить.
session-no-account = В этом браузере нет аккаунта.
store-no-window = Parley должен работать в окне браузера.
store-no-indexeddb = IndexedDB недоступна (приватный режим?).
store-browser = Сбой хранилища браузера ({ $step }): { $detail }
store-browser-plain = Сбой хранилища браузера ({ $step }).
store-damaged = Сохранённая запись { $record } повреждена.
store-undecryptable = Сохранённую запись { $record } не удаётся расшифровать.
camera-unsupported = Этот браузер не может здесь пользоваться камерой (нужен HTTPS).
camera-refused = Доступ к камере запрещён или камера не найдена.
camera-failed = Не удалось включить камеру.
rtc-no-media-devices = Этот браузер не может здесь пользоваться микрофоном (нужен HTTPS).
rtc-media-refused = Доступ к микрофону или камере запрещён или они недоступны.
rtc-no-webrtc = Этот браузер не умеет звонить (нет WebRTC).
rtc-browser = Сбой соединения звонка в браузере: { $detail }
pairing-invalid-invite = Это не приглашение Parley.
pairing-wrong-code = Неверный код связи.
pairing-authentication = Сообщение установки связи не прошло проверку подлинности.
pairing-bad-signature = Не удалось проверить личность другого устройства.
pairing-identity-mismatch = Личность другого устройства не совпадает с приглашением.
pairing-malformed = Сообщение установки связи повреждено.
pairing-too-large = Профиль слишком большой.
flow-expired = Срок приглашения истёк; попросите новое.
flow-other-relay = Это приглашение для другого ретранслятора ({ $relay }).
flow-own-invite = Это ваше собственное приглашение.
flow-no-pin-slot = У этого приглашения нет PIN.
flow-pin-exists = У этого приглашения уже есть PIN.
flow-attempts-used = У этого приглашения слишком много неудачных попыток; создайте новое.
invite-too-many = У вас уже открыто приглашений: { $max } — в других вкладках или окнах либо на страницах, закрытых за последние 10 минут.
invite-cancelled = Приглашение отменено.
invite-expired = Срок приглашения истёк, никто не присоединился. Создайте новое.
invite-gone = Приглашения больше нет (истекло или закрыто). Создайте новое.
invite-pin-setup = Не удалось подготовить PIN ({ $failure }). Создайте новое приглашение.
invite-void = Установить связь не удалось ({ $reason }). У приглашения слишком много неверных попыток, оно недействительно. Создайте новое.
pin-rate-limited = Слишком много приглашений с PIN из вашей сети. Воспользуйтесь QR-кодом или ссылкой либо запросите PIN через несколько минут.
join-bad-code = Код связи выглядит так: 1234-567890.
join-no-such-code = Приглашения с таким кодом нет. Возможно, оно истекло, уже использовано или код введён с ошибкой.
join-too-many-codes = С этого устройства или из этой сети введено слишком много кодов. Подождите минуту и попробуйте снова.
join-not-ready = Приглашение ещё не готово; попробуйте чуть позже.
join-invite-gone = Приглашение истекло, отменено или уже использовано. Попросите новое.
join-busy = С этим приглашением прямо сейчас присоединяется кто-то другой. Попробуйте через несколько секунд.
join-no-answer = Другое устройство не ответило. Попробуйте снова.
join-wrong-pin = Неверный код. Проверьте его и попробуйте снова; приглашение всё ещё действует.
join-link-rejected = Приглашающее устройство не смогло проверить эту ссылку. Попросите новое приглашение.
join-closed = Неверный код, либо приглашение отменено или исчерпало попытки. Попросите новое приглашение.
safety-unsupported = Это не код безопасности Parley. Отсканируйте код под кодом безопасности собеседника.
safety-mismatch = Коды не совпадают. Не доверяйте этому разговору, пока не выясните причину.
blob-unreachable = Хранилище недоступно.
blob-refused = Ссылка на хранилище истекла или отклонена.
blob-failed = Хранилище ответило ошибкой ({ $status }).
transfer-too-large = Файл { $name } слишком большой для этого ретранслятора. { $failure }
transfer-gone = Файл больше недоступен: он удалён или истёк срок его хранения.
transfer-blob = { $reason } Файл не передан.
job-malformed = Обработчик файлов получил повреждённый запрос.
job-unreadable = Не удалось прочитать файл (его переместили или изменили?).
job-changed = Файл изменился во время шифрования; он не отправлен.
job-no-room = Браузеру не хватило памяти или места для файла.
job-unsendable = Обработчик файлов не смог вернуть результат; файл не обработан.
job-unreachable = Хранилище недоступно; попробуйте позже.
job-link-expired = Срок ссылки для скачивания истёк; попробуйте снова.
job-gone = Файла больше нет в хранилище.
job-storage = Хранилище ответило { $status }; попробуйте позже.
job-interrupted = Скачивание прервалось; попробуйте снова.
job-tampered = Файл был изменён в хранилище (он не совпадает с отправленным); он не сохранён.
worker-stopped = Обработчик файлов неожиданно остановился; файл не обработан.
worker-empty = Обработчик файлов ничего не вернул; файл не обработан.
upload-no-xhr = Этот браузер не умеет загружать файлы (нет XMLHttpRequest).

## Storage (Settings)
storage-title = Хранилище в этом браузере
storage-persistent = Этот браузер сохраняет данные Parley: он не удалит их, чтобы освободить место.
storage-best-effort = Этот браузер может удалить данные Parley, вашу учётную запись и все переписки, если ему не хватит места.
storage-back-up = Сделайте резервную копию учётной записи, чтобы восстановить её, если это случится.
storage-ask = Попросить браузер сохранять данные

## Devices (Settings)
devices-title = Ваши устройства
devices-hint = Контакты шифруют каждое сообщение для каждого из этих устройств. Удалите устройство, которым больше не пользуетесь: ретранслятор сотрёт его, и контакты перестанут шифровать для него.
devices-this = Это устройство
devices-other = Устройство { $id }
devices-joined = добавлено { $date }
devices-remove = Удалить
devices-remove-confirm = Удалить навсегда?
device-removed = Это устройство удалено из вашей учётной записи другим вашим устройством, и ретранслятор стёр его. Оно больше не может получать сообщения.

## Резервные копии

backup-wrong-key = Неверный пароль или ключ восстановления.
backup-not-a-backup = Это не резервная копия Parley (или она сделана более новой версией).
backup-bad-parameters = Эта копия требует больше работы, чем позволяет браузер; она не открыта.
backup-key-typo = В ключе восстановления опечатка: проверьте каждую группу.
backup-damaged = Файл копии повреждён.
backup-browser = Браузер не смог прочитать или сохранить файл.
restore-not-ready = Копию можно восстановить только на новом устройстве.
restore-busy = Восстановление уже идёт.
restore-foreign-list = Список устройств этого аккаунта на ретрансляторе не совпадает с копией: ничего не восстановлено.
restore-rollback = Ретранслятор отдаёт более старый список устройств ({ $relay }), чем в копии ({ $backup }): ничего не восстановлено.
restore-equivocation = Ретранслятор отдаёт другой список устройств с той же версией, что в копии: ничего не восстановлено.
restore-account = К аккаунту нельзя добавить ещё устройство (их уже максимум).
