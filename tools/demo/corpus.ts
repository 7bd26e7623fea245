/**
 * Training corpus for the demo intent classifier, in the style of the SNIPS / ATIS intent sets.
 * Hand-written utterances, 15 intents. The classifier trains on this once at module load.
 */

export interface LabelledUtterance {
  readonly text: string;
  readonly intent: string;
}

const PlayMusic = [
  'play some music',
  'play music by the beatles',
  'i want to listen to music',
  'put on some relaxing music',
  'play the latest album by taylor swift',
  'start playing rock music',
  'play a song by queen',
  'play classical music in the living room',
  'can you play some blues',
  'play my favourite songs',
  'turn on the radio and play some pop hits',
  'i feel like hearing some hip hop',
  'play something by miles davis',
  'shuffle songs from the eighties',
  'play the music of bob marley on spotify',
  'listen to jazz music',
  'play a tune by ella fitzgerald',
  'put on the album thriller',
];

const GetWeather = [
  'what is the weather like today',
  'will it be sunny tomorrow',
  'how cold is it outside',
  'what is the forecast for london this weekend',
  'is it going to snow in chicago',
  'do i need an umbrella today',
  'what is the temperature in tokyo',
  'weather forecast for berlin on monday',
  'is it raining in seattle right now',
  'how hot will it be next week in madrid',
  'will there be a storm tonight',
  'tell me the weather for new york',
  'is it windy at the beach',
  'what will the weather be like on saturday in rome',
  'chance of rain this afternoon',
  'will it be cloudy in the morning',
];

const BookRestaurant = [
  'book a table at a restaurant',
  'reserve a table for four people tonight',
  'i want to book a restaurant for dinner',
  'make a reservation at a sushi restaurant',
  'find me a table for two at a french bistro',
  'book a table for six at eight pm',
  'reserve a spot at a steakhouse for friday',
  'can you book dinner at a pizzeria nearby',
  'i need a reservation for lunch tomorrow',
  'get a table at a thai restaurant for three',
  'book a brunch reservation for sunday',
  'reserve seats at a vegan cafe',
  'table for two at a mexican restaurant please',
  'book me a table at an indian restaurant downtown',
  'make a dinner reservation for my anniversary',
];

const AddToPlaylist = [
  'add this song to my playlist',
  'put this track on my workout playlist',
  'add the artist adele to my chill playlist',
  'include this tune in my road trip playlist',
  'add bohemian rhapsody to my favourites playlist',
  'save this song to the party playlist',
  'add a track by coldplay to my study playlist',
  'put the new album on my summer playlist',
  'add this to the playlist called evening vibes',
  'insert this song into my running list',
  'add some nirvana to my grunge playlist',
  'can you add this track to my dinner playlist',
  'append this song to the playlist',
  'add the current song to my jogging playlist',
];

const RateBook = [
  'rate this book five stars',
  'give the novel four out of five',
  'i would rate the book a three',
  'give pride and prejudice five points',
  'rate the current novel two stars',
  'give this textbook a rating of one',
  'rate war and peace four stars',
  'i give the book i just read six out of ten',
  'rate this essay three points',
  'give the saga a rating of five stars',
  'award this chronicle two points',
  'rate the series of books zero stars',
  'give my current book a rating of four',
  'the novel deserves a three star rating',
];

const SearchCreativeWork = [
  'find the tv series friends',
  'search for the game the legend of zelda',
  'look up the painting mona lisa',
  'find the novel the great gatsby',
  'search for a tv show called the office',
  'where can i find the soundtrack of titanic',
  'look for the video game minecraft',
  'find me the picture starry night',
  'search for the documentary planet earth',
  'i am looking for the book dune',
  'show me the series game of thrones',
  'find a work called the thinker',
  'search for the trailer of inception',
  'look up the photograph afghan girl',
];

const SearchScreeningEvent = [
  'what movies are showing tonight',
  'find movie times for the new batman film',
  'which cinema is showing dune',
  'when is the next screening of avatar',
  'what films are playing at the local theatre',
  'show me movie schedules for this evening',
  'is the lion king showing at the multiplex',
  'find showtimes at the nearest movie theater',
  'what animated movies are playing nearby',
  'when does oppenheimer play at the cinema',
  'which films are on at the odeon this weekend',
  'movie times near me',
  'find the schedule for films at the drive in',
  'what is showing at the imax tonight',
];

const SetAlarm = [
  'set an alarm for six in the morning',
  'wake me up at seven',
  'set my alarm for 5 30 am',
  'i need to get up at eight tomorrow',
  'alarm for 9 am please',
  'set a wake up call for six thirty',
  'create an alarm for noon',
  'remind me to wake up at dawn',
  'set the alarm to go off in twenty minutes',
  'wake me in an hour',
  'put an alarm on for 6 am on weekdays',
  'schedule an alarm at 10 pm',
  'i have to wake up early set an alarm',
  'set an alarm clock for tomorrow at 7',
];

const SendMessage = [
  'send a message to john',
  'text my wife that i will be home soon',
  'tell alex i am on my way',
  'send an sms to mum saying happy birthday',
  'message sarah that the meeting is cancelled',
  'write a text to my brother',
  'send a whatsapp to the team saying good job',
  'let dad know i arrived safely',
  'text peter running ten minutes late',
  'send a note to anna about dinner',
  'shoot a message to my boss',
  'message my friend that i will call later',
  'send a text to the group chat',
  'tell my sister to pick me up',
];

const BookFlight = [
  'book a flight to new york',
  'i need a plane ticket from london to paris',
  'find flights from boston to san francisco',
  'book me a flight to tokyo next monday',
  'reserve a seat on a plane to berlin',
  'show me cheap flights to miami',
  'i want to fly from dallas to denver',
  'get me a one way ticket to rome',
  'book a return flight to sydney in march',
  'what flights leave for chicago tomorrow',
  'flights from atlanta to seattle on friday',
  'book an airline ticket to madrid',
  'find a nonstop flight to los angeles',
  'i need to fly to amsterdam for business',
];

const Greeting = [
  'hello',
  'hi there',
  'hey',
  'good morning',
  'good evening',
  'hello how are you',
  'hi how is it going',
  'hey what is up',
  'greetings',
  'howdy',
  'good afternoon to you',
  'hi nice to meet you',
  'hello there friend',
  'yo how are things',
];

const Goodbye = [
  'goodbye',
  'bye',
  'see you later',
  'bye bye',
  'talk to you soon',
  'good night',
  'catch you later',
  'farewell',
  'i have to go now bye',
  'see you tomorrow',
  'that is all thanks bye',
  'have a nice day goodbye',
  'so long',
];

const GetNews = [
  'what is in the news today',
  'tell me the latest headlines',
  'read me the news',
  'any breaking news',
  'what are the top stories this morning',
  'give me the sports news',
  'latest news about the election',
  'what happened in the world today',
  'read the technology headlines',
  'news update please',
  'what are the business headlines',
  'brief me on current events',
  'show me the latest stories from the bbc',
];

const ControlLights = [
  'turn on the lights',
  'switch off the lights in the bedroom',
  'dim the living room lights',
  'turn the kitchen light on',
  'lights off please',
  'make the lights brighter',
  'turn off all the lamps',
  'switch on the hallway light',
  'set the bedroom lights to fifty percent',
  'change the light colour to blue',
  'turn on the porch lamp',
  'it is too dark turn the lights on',
  'switch the bathroom light off',
];

const CheckBalance = [
  'what is my account balance',
  'how much money do i have',
  'check my bank balance',
  'how much is in my checking account',
  'what is the balance on my savings',
  'show me my balance',
  'do i have enough money in my account',
  'tell me my current balance',
  'how much is left on my credit card',
  'what funds are available in my account',
  'check the balance of my joint account',
  'balance inquiry please',
  'how much cash is in my wallet account',
];

function label(intent: string, texts: readonly string[]): LabelledUtterance[] {
  return texts.map((text) => ({ text, intent }));
}

/** Every labelled utterance, grouped by intent in the order of {@link CORPUS_INTENTS}. */
export const CORPUS: readonly LabelledUtterance[] = Object.freeze([
  ...label('PlayMusic', PlayMusic),
  ...label('GetWeather', GetWeather),
  ...label('BookRestaurant', BookRestaurant),
  ...label('AddToPlaylist', AddToPlaylist),
  ...label('RateBook', RateBook),
  ...label('SearchCreativeWork', SearchCreativeWork),
  ...label('SearchScreeningEvent', SearchScreeningEvent),
  ...label('SetAlarm', SetAlarm),
  ...label('SendMessage', SendMessage),
  ...label('BookFlight', BookFlight),
  ...label('Greeting', Greeting),
  ...label('Goodbye', Goodbye),
  ...label('GetNews', GetNews),
  ...label('ControlLights', ControlLights),
  ...label('CheckBalance', CheckBalance),
]);

/** The intents the corpus covers, in a fixed order (ties in the classifier break by this order). */
export const CORPUS_INTENTS: readonly string[] = Object.freeze([...new Set(CORPUS.map((u) => u.intent))]);
